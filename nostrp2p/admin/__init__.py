"""The admin endpoint: status JSON and Prometheus metrics on a unix socket in the data
directory, for ``nostrp2p status`` and for a local metrics scraper (docs/STATUS.md)."""

from .service import ADMIN_SOCKET, AdminService

__all__ = ["ADMIN_SOCKET", "AdminService"]
