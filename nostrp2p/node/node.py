"""The node: delivers what the owner publishes, believes only verified events from other
servers, answers their requests, fetches what the owner's client asks for and keeps retrying
unicasts that did not get through.

It sits between the REST API (which calls :meth:`Node.published` and :meth:`Node.wanted`), the
store (:class:`~nostrp2p.store.interface.IEventStore`) and the overlay
(:class:`~nostrp2p.node.overlay.IOverlay`). Its time comes from the injected ``clock``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Callable, Iterable, Optional

from twisted.internet.defer import Deferred

from ..logging import Logger
from ..nostr import Event, Filter
from . import limits
from .delivery import ToEveryone, ToNamed, kept_by, plan_delivery
from .fetcher import Fetcher, ask
from .intake import Intake
from .messages import (
    EventsMessage, MessageError, Request, decode, encode_events, encode_events_within,
    encode_mode,
)
from .mode_probe import ModeProbe
from .overlay import UnicastFailed
from .ratelimit import RateLimiter
from .resender import Resender
from .subscriptions import Subscriptions
from .tasks import TaskSet

log = Logger()


@dataclass(frozen=True)
class NodeSettings:
    """What a deployment (or an end-to-end test) may change; defaults from :mod:`.limits`."""

    resend_base_seconds: float = limits.RESEND_BASE_SECONDS
    resend_attempts: int = limits.RESEND_ATTEMPTS
    resend_check_seconds: float = limits.RESEND_CHECK_SECONDS
    share_repeat_seconds: float = limits.SHARE_REPEAT_SECONDS
    share_min_interval_seconds: float = limits.SHARE_MIN_INTERVAL_SECONDS
    refresh_after_seconds: float = limits.REFRESH_AFTER_SECONDS
    refresh_every_seconds: float = limits.REFRESH_AT_MOST_EVERY_SECONDS
    fetch_retry_seconds: float = limits.FETCH_RETRY_SECONDS
    peer_requests_per_minute: int = limits.PEER_REQUESTS_PER_MINUTE
    peer_shares_per_hour: int = limits.PEER_SHARES_PER_HOUR
    peer_events_per_minute: int = limits.PEER_EVENTS_PER_MINUTE
    author_events_per_hour: int = limits.AUTHOR_EVENTS_PER_HOUR

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{field.name} must be a number, not {value!r}")
            lowest_allowed_is_zero = field.name == "resend_attempts"  # no queue at all
            if value < 0 or (value == 0 and not lowest_allowed_is_zero):
                raise ValueError(f"{field.name} must be positive, not {value!r}")


class Node:
    def __init__(self, store, overlay, owner: bytes, clock,
                 settings: NodeSettings = NodeSettings(), delivery: str = "broadcast",
                 turns=None):
        """``turns``: what ends a reactor turn, when the intake stores what arrived in it (the
        reactor unless given; a simulator without one gives its clock)."""
        if delivery not in limits.DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {', '.join(limits.DELIVERY_MODES)}, "
                             f"not {delivery!r}")
        self.store = store
        self.overlay = overlay
        self.owner = owner
        self.clock = clock
        self.settings = settings
        self.counters: Counter[str] = Counter()
        self.tasks = TaskSet(limits.MAX_TASKS_IN_FLIGHT, self.counters)
        self.intake = Intake(store, clock, self.counters, settings.peer_events_per_minute,
                             settings.author_events_per_hour, owner, self.tasks, turns)
        self.resender = Resender(store, overlay, clock, self.counters, self.tasks,
                                 settings.resend_base_seconds, settings.resend_attempts,
                                 settings.resend_check_seconds)
        self._listeners: list[Callable[[Event], None]] = []
        self.intake.on_stored = self._stored
        self.fetcher = Fetcher(store, overlay, owner, clock, self.counters, self.tasks,
                               self.intake, settings.refresh_after_seconds,
                               settings.refresh_every_seconds, settings.fetch_retry_seconds)
        self._peer_requests = RateLimiter(settings.peer_requests_per_minute, 60,
                                          limits.RATE_TABLE_SIZE)
        self._peer_shares = RateLimiter(settings.peer_shares_per_hour, 3600,
                                        limits.RATE_TABLE_SIZE)
        self._share_repeat = None
        self._last_ready_share: Optional[float] = None
        self.running = False
        self.delivery = delivery
        # An overlay without channels (a test double of the broadcast era) is followed by
        # nobody's tree: only broadcast mode makes sense with it.
        channels = overlay if hasattr(overlay, "set_channel_handler") else None
        if channels is None and delivery == "followers":
            raise ValueError("followers delivery needs an overlay with channels")
        self.subscriptions = Subscriptions(channels, owner, self.counters,
                                           followers_mode=delivery == "followers")
        self.mode_probe = None
        if channels is not None and delivery == "broadcast":
            self.mode_probe = ModeProbe(overlay, clock, self.tasks, self.counters,
                                        self.subscriptions.author_mode)
            self.subscriptions.probe = self.mode_probe
        overlay.set_handlers(self._on_broadcast, self._on_message, self._on_request)
        if channels is not None:
            channels.set_channel_handler(self._on_channel_post)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Resume the resend queue and ask the neighbours for the last three days' events. At
        start a server usually has no neighbours yet, so it asks again when the overlay calls
        :meth:`overlay_ready`, or else once after ``share_repeat_seconds``."""
        self.running = True
        self.resender.start()
        if self.mode_probe is not None:
            self.mode_probe.start()
        self.tasks.run(self._subscribe_to_follows, "follow list")
        self._ask_to_share()
        self._share_repeat = self.clock.callLater(self.settings.share_repeat_seconds,
                                                  self._repeat_share)

    def stop(self) -> None:
        """Stop the timers; work in progress finishes on its own (see :meth:`settled`)."""
        self.running = False
        self.resender.stop()
        if self.mode_probe is not None:
            self.mode_probe.stop()
        if self._share_repeat is not None and self._share_repeat.active():
            self._share_repeat.cancel()
        self._share_repeat = None

    def overlay_ready(self) -> None:
        """The overlay has neighbours now (the first one, or some again after none): ask them
        to share their events, at most once per ``share_min_interval_seconds``."""
        if not self.running:
            return
        now = self.clock.seconds()
        last = self._last_ready_share
        if last is not None and now - last < self.settings.share_min_interval_seconds:
            return
        self._last_ready_share = now
        if self._share_repeat is not None and self._share_repeat.active():
            self._share_repeat.cancel()  # this request is the repeat
        self._ask_to_share()

    def settled(self) -> Deferred:
        """Fires when no work is in progress (what has arrived is stored, answers are sent)."""
        return self.tasks.settled()

    def _repeat_share(self) -> None:
        self._share_repeat = None
        self._ask_to_share()

    def _ask_to_share(self) -> None:
        """Ask each neighbour, by request: the answer comes back on the session the request
        went out on, so a server only ever sends events to whoever asked it, never to the
        origin a broadcast claims (docs/THREATS.md)."""
        since = max(0, int(self.clock.seconds()) - limits.SHARE_WINDOW_SECONDS)
        self.counters["share_asked"] += 1
        for neighbour in list(self.overlay.neighbours())[:limits.SHARE_ASK_MAX]:
            self.tasks.run(self._catch_up_from(neighbour, Request("share", since)), "share request")

    async def _subscribe_to_follows(self) -> None:
        """Join the channels of the authors the owner follows (their overlay catch-up brings
        what was posted while this server was away)."""
        try:
            follow_list = await self.store.current_follow_list(self.owner)
        except Exception as e:
            self.counters["follow_list_unread"] += 1
            log.warn("could not read the owner's follow list, no channels joined yet: {why}",
                     why=repr(e))
            return
        self.subscriptions.apply(follow_list)

    async def _catch_up_from(self, neighbour: bytes, request: Request) -> None:
        try:
            reply = await ask(self.overlay, neighbour, request)
        except (UnicastFailed, MessageError) as e:
            self.counters["share_ask_failed"] += 1
            log.debug("asking {neighbour} to share failed: {why}", neighbour=neighbour.hex(),
                      why=str(e))
            return
        await self.intake.accept(self.subscriptions.kept(reply.events), neighbour, admitted=False)

    def _spread(self, payload: bytes, what: str) -> None:
        """To every server (broadcast mode), or down the owner's channel to its followers'
        servers (followers mode)."""
        if len(payload) > limits.MAX_BROADCAST_PAYLOAD:
            self.counters["too_large"] += 1
            log.warn("{what} of {size} bytes is over the broadcast limit; not sent", what=what,
                     size=len(payload))
            return
        followers = self.delivery == "followers"
        try:
            if followers:
                self.overlay.publish_to_followers(payload)
            else:
                self.overlay.broadcast(payload)
        except Exception:
            # IOverlay.broadcast and publish_to_followers do not raise; if one does, the caller
            # (a REST request, or start) must not fail because of it.
            self.counters["channel_publish_failed" if followers else "broadcast_failed"] += 1
            log.failure("the overlay failed to send a {what} ({mode} delivery)", what=what,
                        mode=self.delivery)

    # -- from the REST API -------------------------------------------------------------------

    def published(self, event: Event) -> None:
        """The owner's event is stored; deliver it. (The API refused what :func:`plan_delivery`
        refuses, so an error here would be a bug and is raised.)"""
        delivery = plan_delivery(event, self.owner)
        payload = encode_events([event])
        self.subscriptions.apply(event)  # a follow list: join and leave channels
        if isinstance(delivery, ToEveryone):
            self._spread(payload, f"kind {event.kind} event")
        elif isinstance(delivery, ToNamed):
            for target in delivery.targets:
                self.resender.send(target, payload)

    def wanted(self, event_filter: Filter, held: Iterable[Event],
               client: Optional[str] = None) -> None:
        """The client asked for something; fetch from the authors' servers what is missing (or
        stale) so that its next poll finds it. ``client``: its address, None for the owner's
        (fetcher.py bounds what other addresses may cause)."""
        self.tasks.run(self.fetcher.fetch_wanted(event_filter, list(held), client), "wanted")

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener(event)`` for each event from other servers this node stores
        (broadcasts, unicasts, share answers, fetch answers): the relay's live subscriptions.
        The owner's own events are stored by the API, which tells its listeners itself."""
        self._listeners.append(listener)

    def _stored(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.failure("a stored-event listener failed on {event_id}", event_id=event.id_hex)

    # -- from the overlay --------------------------------------------------------------------

    def _decode(self, payload: bytes, origin: bytes):
        try:
            return decode(payload)
        except MessageError as e:
            self.counters["malformed"] += 1
            log.debug("malformed message from {origin}: {why}", origin=origin.hex(), why=str(e))
            return None

    def _on_broadcast(self, payload: bytes, origin: bytes, via: bytes) -> None:
        """``origin`` is what the broadcast claims; it is believed only as far as the events'
        signatures carry it (a server broadcasts its owner's events alone, so each must be
        signed by ``origin``). Budgets are charged to ``via``, the neighbour whose
        authenticated session handed it over, and nothing is ever sent to ``origin`` because of
        a broadcast."""
        if origin == self.owner:
            return
        # Broadcasts (others' events passed on) and a session's own unicasts have budgets of
        # their own, though both are keyed by the same authenticated overlay key.
        neighbour = ("neighbour", via)
        if not self.intake.admit_message(neighbour):
            return
        message = self._decode(payload, via)
        if isinstance(message, EventsMessage):
            if any(e.pubkey != origin for e in message.events):
                # Someone else's events under this origin: not what its server sends.
                # (Signatures are checked on intake, so an origin whose events are kept is one
                # they prove.)
                self.counters["broadcast_not_by_origin"] += 1
                return
            events = self.subscriptions.kept(message.events)
            self.intake.receive(events, via, neighbour, "broadcast")
        elif isinstance(message, Request) and message.what == "share":
            # Older servers broadcast it and wanted answers sent to the origin it names: that
            # would let a 40-byte broadcast aim every server's answer at any victim.
            self.counters["share_broadcast_ignored"] += 1
        elif message is not None:
            self.counters["unexpected"] += 1

    def _on_channel_post(self, author: bytes, payload: bytes) -> None:
        """A post down ``author``'s channel (which the overlay joined for us). Only the author's
        own events are taken from it, and only while the owner follows the author: forwarders
        pass events on, they cannot slip others' into a channel. Budgets are the author's."""
        if not self.subscriptions.follows_author(author):
            self.counters["channel_not_followed"] += 1
            return
        charge = ("channel", author)
        if not self.intake.admit_message(charge):
            return
        message = self._decode(payload, author)
        if not isinstance(message, EventsMessage):
            if message is not None:
                self.counters["unexpected"] += 1
            return
        events = [e for e in message.events if e.pubkey == author]
        self.counters["not_the_channels_author"] += len(message.events) - len(events)
        self.intake.receive(events, author, charge, "channel post")

    def _on_message(self, payload: bytes, origin: bytes, via: bytes) -> None:
        """``origin`` is the owner key the sending session claims (nothing proves it yet, see
        docs/THREATS.md): what a unicast costs is charged to ``via``, the overlay key of the
        authenticated session it arrived on, so that claiming a victim's owner key spends
        nothing of the victim's, and claiming many owners on one session buys no more."""
        session = ("session", via)
        if not self.intake.admit_message(session):
            return
        message = self._decode(payload, via)
        if isinstance(message, EventsMessage):
            self.intake.receive(message.events, origin, session, "unicast")
        elif message is not None:
            self.counters["unexpected"] += 1

    def _on_request(self, payload: bytes, origin: bytes, via: bytes):
        """The reply bytes, or a Deferred of them; always an EVENTS message (empty when the
        request is refused), never a failure. Rate limits are keyed by ``via``, the session it
        arrived on, as for :meth:`_on_message`; the answer goes back on that session. The
        claimed ``origin`` only chooses which unicast-only events the answer may hold."""
        now = self.clock.seconds()
        if not self._peer_requests.allow(via, now):
            self.counters["request_rate_limited"] += 1
            return encode_events([])
        message = self._decode(payload, via)
        if not isinstance(message, Request):
            return encode_events([])
        if message.what == "mode":
            return encode_mode(self.delivery)
        if message.what == "share" and not self._peer_shares.allow(via, now):
            self.counters["share_rate_limited"] += 1
            return encode_events([])
        answering = self.tasks.run(self._answer(message, origin), f"answer {message.what}")
        return encode_events([]) if answering is None else answering

    async def _answer(self, request: Request, origin: bytes) -> bytes:
        try:
            if request.what == "profile":
                found = [await self.store.current_profile(self.owner)]
            elif request.what == "follows":
                found = [await self.store.current_follow_list(self.owner)]
            elif request.what == "post":
                found = await self.store.get([request.argument])
            else:
                found = await self._events_since(request.argument)
        except Exception as e:
            # The store is away (restarting, say): the peer asks again later.
            self.counters["answer_failed"] += 1
            log.warn("could not answer a {what} request: {why}", what=request.what, why=repr(e))
            found = []
        found = [e for e in found if e is not None and kept_by(e, origin)]
        payload, count = encode_events_within(found, limits.MAX_UNICAST_PAYLOAD)
        if count < len(found):
            self.counters["share_trimmed"] += 1
        return payload

    async def _events_since(self, since: int) -> list[Event]:
        floor = int(self.clock.seconds()) - limits.SHARE_WINDOW_SECONDS
        return await self.store.query(Filter(since=max(since, floor),
                                             limit=limits.MAX_EVENTS_PER_ANSWER))
