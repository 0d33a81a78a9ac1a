"""Where the admin socket is: found from the data directory alone, by the server and by
``nostrp2p status``."""

from pathlib import Path

ADMIN_SOCKET = "admin.sock"


def admin_socket_path(data_dir) -> Path:
    return Path(data_dir) / ADMIN_SOCKET
