"""The binding this server runs under, as one object the rest of the server reads.

:class:`ServerBinding` loads the binding file at start, takes a newer binding from the owner
(``/publish``), and answers :meth:`ServerBinding.status` with a frozen :class:`BindingStatus`
(``bound``, ``unbound`` or ``expired``, and until when). Until the overlay carries bindings the
state only informs the owner; docs/BINDING.md says what it will mean to other servers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..logging import Logger
from ..nostr import Event
from ..nostr.binding import Binding, BindingError, binding_from_event, check_binding
from .file import binding_path, read_binding, write_binding
from .overlay_key import overlay_public_key

log = Logger()

BOUND = "bound"
UNBOUND = "unbound"
EXPIRED = "expired"

RENEW_WARNING_SECONDS = 30 * 86400
"""A binding expiring sooner than this is reported at start with a reminder to bind again."""

HOW_TO_BIND = ("sign a binding with `nostrp2p bind --datadir {data_dir}` or publish one from "
               "your client (docs/BINDING.md)")


def utc_time(unix_time: int) -> str:
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class BindingStatus:
    state: str  # BOUND, UNBOUND or EXPIRED
    overlay_key: bytes
    owner: bytes
    expires_at: Optional[int] = None  # unix time; None when unbound
    sequence: Optional[int] = None


class ServerBinding:
    """``clock`` is an IReactorTime (``seconds()``), or None for the wall clock."""

    def __init__(self, data_dir: Path, overlay_key: bytes, owner: bytes, clock=None):
        self.data_dir = Path(data_dir)
        self.overlay_key = overlay_key
        self.owner = owner
        self.clock = clock
        self.binding: Optional[Binding] = None

    def now(self) -> float:
        return self.clock.seconds() if self.clock is not None else time.time()

    def status(self) -> BindingStatus:
        binding = self.binding
        if binding is None:
            return BindingStatus(UNBOUND, self.overlay_key, self.owner)
        state = EXPIRED if binding.expired(self.now()) else BOUND
        return BindingStatus(state, self.overlay_key, self.owner, binding.expires_at,
                             binding.sequence)

    def load(self) -> BindingStatus:
        """Read the binding file and say, in one log line, what the server runs as."""
        how = HOW_TO_BIND.format(data_dir=self.data_dir)
        try:
            binding = read_binding(self.data_dir)
            if binding is not None:
                self._check(binding, check_expiry=False)
        except BindingError as e:
            log.error("the binding in {path} is refused, running unbound: {reason}; {how}",
                      path=str(binding_path(self.data_dir)), reason=e.reason, how=how)
            return self.status()
        self.binding = binding
        status = self.status()
        if status.state == UNBOUND:
            log.warn("this server runs unbound: no binding of overlay key {key} by its owner, so "
                     "other servers cannot tell it from an impostor; {how}",
                     key=self.overlay_key.hex(), how=how)
        elif status.state == EXPIRED:
            log.warn("this server's binding expired on {expiry}, so it runs as if unbound; {how}",
                     expiry=utc_time(status.expires_at), how=how)
        elif status.expires_at - self.now() < RENEW_WARNING_SECONDS:
            log.warn("this server's binding expires on {expiry}; bind it again before then: "
                     "{how}", expiry=utc_time(status.expires_at), how=how)
        else:
            log.info("bound by owner {owner} until {expiry}, sequence {sequence}",
                     owner=self.owner.hex(), expiry=utc_time(status.expires_at),
                     sequence=status.sequence)
        return status

    def offer(self, event: Event) -> bool:
        """Take ``event`` as the new binding: checked, stored, and then current. Returns False
        when it is the current binding already. Raises :class:`BindingError` with the reason
        when it is refused (``field == "pubkey"``: signed by someone other than the owner)."""
        if event.pubkey != self.owner:
            raise BindingError("pubkey", "only this server's owner may bind it")
        binding = binding_from_event(event)
        self._check(binding, check_expiry=True)
        current = self.binding
        if current is not None and current.id == binding.id:
            return False
        if current is not None and not binding.supersedes(current):
            raise BindingError("seq", f"this binding (sequence {binding.sequence}) is not newer "
                               f"than the current one (sequence {current.sequence})")
        try:
            write_binding(self.data_dir, binding)
        except OSError as e:
            raise BindingError("file", f"the binding could not be stored: {e.strerror}") from None
        self.binding = binding
        log.info("new binding by owner {owner} until {expiry}, sequence {sequence}",
                 owner=self.owner.hex(), expiry=utc_time(binding.expires_at),
                 sequence=binding.sequence)
        return True

    def _check(self, binding: Binding, check_expiry: bool) -> None:
        # An expired binding on disk still loads (the state says "expired"); a new one must
        # not be expired already.
        now = self.now() if check_expiry else float("-inf")
        check_binding(binding, self.overlay_key, self.owner, now)


def load_server_binding(data_dir: Path, owner: bytes, clock=None) -> ServerBinding:
    """What the server does at start: the overlay key (created if absent), then its binding.
    Raises :class:`~nostrp2p.config.ConfigError` when the overlay key cannot be had."""
    server_binding = ServerBinding(data_dir, overlay_public_key(data_dir), owner, clock)
    server_binding.load()
    return server_binding
