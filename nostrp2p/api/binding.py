"""/publish of an owner binding (docs/BINDING.md): a client that can sign any kind binds its
server without a terminal. The binding is checked and stored in the data directory, and
replaces the older one; it is not stored or sent like an ordinary event."""

from __future__ import annotations

from ..nostr import Event
from ..nostr.binding import BindingError
from .errors import ApiError

# The status a refusal gets, by the field at fault; anything else is the client's error (400).
_STATUS = {"pubkey": 403, "seq": 409, "file": 503}


def accept_binding(server_binding, event: Event) -> bool:
    """Offer ``event`` (kind BINDING_KIND) to the server's :class:`ServerBinding`; True when
    it became the current binding, False when it was already. Raises :class:`ApiError`."""
    if server_binding is None:
        raise ApiError(400, "kind", "this server takes no binding (it runs without a data "
                       "directory of its own)")
    try:
        return server_binding.offer(event)
    except BindingError as e:
        raise ApiError(_STATUS.get(e.field, 400), e.field, e.reason) from None
