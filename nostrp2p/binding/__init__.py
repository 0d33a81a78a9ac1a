"""The server's own owner binding: the file in the data directory, the state the server runs
in (bound, unbound, expired), and ``nostrp2p bind`` which signs one (docs/BINDING.md)."""

from .file import BINDING_FILE
from .overlay_key import OVERLAY_KEY_FILE
from .status import BindingStatus, ServerBinding, load_server_binding

__all__ = [
    "BINDING_FILE", "OVERLAY_KEY_FILE", "BindingStatus", "ServerBinding", "load_server_binding",
]
