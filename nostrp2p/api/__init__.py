"""The REST API the owner's client talks to (POST /publish, POST /req) and the NIP-01 relay
interface over WebSocket on the same endpoint (docs/API.md)."""

from .app import make_api
from .endpoint import api_service, api_site
from .errors import ApiError
from .hooks import INodeHooks, NoOverlay

__all__ = ["ApiError", "INodeHooks", "NoOverlay", "api_service", "api_site", "make_api"]
