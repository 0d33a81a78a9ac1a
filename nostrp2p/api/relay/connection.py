"""One NIP-01 client connection: the WebSocket protocol (autobahn) and its subscriptions.

EVENT goes through the same :class:`~nostrp2p.api.writes.Writer` as POST /publish; REQ is
answered from the store as POST /req answers (and, like it, starts the node's on-demand fetch
for ids and authors not held), then stays open for live events; AUTH is NIP-42. Every bound
is in :mod:`nostrp2p.api.limits` and in the NIP-11 document.
"""

from __future__ import annotations

from collections import deque
from typing import Optional
from dataclasses import dataclass

from autobahn.exception import PayloadExceededError
from autobahn.twisted.websocket import (
    ConnectionDeny, WebSocketServerFactory, WebSocketServerProtocol,
)
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import ISSLTransport

from ...logging import Logger
from ...nostr import Event, Filter
from .. import reads
from ..connection_limit import AddressSlots
from ..errors import ApiError
from ..owner_clients import local_or_none
from .auth import auth_refusal, new_challenge, relay_url_from_host
from .messages import (
    AuthMessage, CloseMessage, EventMessage, ProtocolError, ReqMessage, auth_challenge, closed,
    decode, eose, event_frame, event_frame_prefix, notice, ok,
)
from .outbox import Outbox

log = Logger()

CLOSE_POLICY_VIOLATION = 1008


def refusal_text(error: ApiError) -> str:
    """A write refusal of the shared write path, as an OK text with its NIP-01 prefix."""
    if error.status == 503:
        prefix = "error"
    elif error.field == "kind":
        prefix = "blocked"
    elif error.status == 403:
        prefix = "restricted"
    else:
        prefix = "invalid"
    return f"{prefix}: {error.field} {error.reason}"


@dataclass
class Subscription:
    id: str
    filters: tuple[Filter, ...]
    early: Optional[deque]  # live events that came before EOSE (bounded: the oldest go first)
    live: bool = False  # EOSE sent: matches go out as they come

    def __post_init__(self):
        self.frame_prefix = event_frame_prefix(self.id)

    def matches(self, event: Event) -> bool:
        return any(f.matches(event) for f in self.filters)


class RelayConnection(WebSocketServerProtocol):
    # Set by RelayFactory.buildProtocol.
    relay = None

    def __init__(self):
        super().__init__()
        self.subscriptions: dict[str, Subscription] = {}
        self.challenge = new_challenge()
        self.relay_url = ""
        self.owner_authenticated = False
        self.queries_in_flight = 0
        self.writes_in_flight = 0
        self.address = None
        self.outbox = None

    # -- life cycle ----------------------------------------------------------------------------

    def onConnect(self, request):
        settings = self.relay.settings
        address = self.transport.getPeer().host
        if not self.factory.slots.room_for(address):
            raise ConnectionDeny(429, f"over {settings.max_connections_per_address} WebSocket "
                                      f"connections from one address")
        self.address = address
        self.factory.slots.take(self, address)
        host = request.headers.get("host", "")
        self.relay_url = relay_url_from_host(host, ISSLTransport.providedBy(self.transport))
        return None

    def onOpen(self):
        self.outbox = Outbox(self._write, self.relay.settings.max_outgoing_bytes,
                             self._too_slow)
        # The HTTP channel that served the upgrade request was the transport's producer.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self.outbox, True)
        self.relay.hub.connections.add(self)
        self.send(auth_challenge(self.challenge))

    def onClose(self, wasClean, code, reason):
        self.relay.hub.connections.discard(self)
        self.subscriptions.clear()
        if self.outbox is not None:
            self.outbox.drop()
        self.factory.slots.give_back(self)
        self.address = None

    def _max_message_size_exceeded(self, msg_size, max_msg_size, reason):
        # autobahn's hook for an incoming message over maxMessagePayloadSize: the client
        # hears why in NIP-01 terms before the connection closes with 1009.
        self.send(notice(f"invalid: message over the limit of {max_msg_size} bytes; closing"))
        super()._max_message_size_exceeded(msg_size, max_msg_size, reason)

    # -- sending -------------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        if self.outbox is not None and self.state == self.STATE_OPEN:
            self.outbox.put(frame)

    def _write(self, frame: bytes) -> None:
        if self.state != self.STATE_OPEN:
            return
        try:
            self.sendMessage(frame)
        except PayloadExceededError:
            log.warn("a relay frame of {size} bytes is over the message limit; not sent",
                     size=len(frame))

    def _too_slow(self, waiting: int) -> None:
        limit = self.relay.settings.max_outgoing_bytes
        log.info("closing a WebSocket reader that fell behind: {waiting} bytes waiting",
                 waiting=waiting)
        self.relay.hub.connections.discard(self)
        self.subscriptions.clear()
        # 1008 is a server's code, which autobahn's sendClose keeps to applications' range.
        self.sendCloseFrame(CLOSE_POLICY_VIOLATION,
                            f"reader too slow: over {limit} bytes waiting to be sent".encode())

    # -- receiving -----------------------------------------------------------------------------

    def onMessage(self, payload, isBinary):
        if isBinary:
            self.send(notice("invalid: NIP-01 messages are text frames of JSON"))
            return
        try:
            message = decode(payload)
        except ProtocolError as e:
            self.send(e.frame)
            return
        if isinstance(message, EventMessage):
            self._event(message.event)
        elif isinstance(message, ReqMessage):
            self._req(message)
        elif isinstance(message, CloseMessage):
            self._close(message.subscription)
        elif isinstance(message, AuthMessage):
            self._auth(message.event)

    def _event(self, event: Event) -> None:
        limit = self.relay.settings.max_writes_in_flight
        if self.writes_in_flight >= limit:
            self.send(ok(event.id_hex, False, f"rate-limited: over {limit} events being "
                                              f"stored; wait for their OK"))
            return
        self.writes_in_flight += 1
        done = Deferred.fromCoroutine(self.relay.writer.publish(event))
        done.addCallbacks(self._stored, self._not_stored, callbackArgs=(event,),
                          errbackArgs=(event,))

    def _stored(self, new: bool, event: Event) -> None:
        self.writes_in_flight -= 1
        self.send(ok(event.id_hex, True, "" if new else "duplicate: already have this event"))

    def _not_stored(self, failure, event: Event) -> None:
        self.writes_in_flight -= 1
        if failure.check(ApiError):
            self.send(ok(event.id_hex, False, refusal_text(failure.value)))
            return
        log.failure("the relay failed to store {event_id}", failure, event_id=event.id_hex)
        self.send(ok(event.id_hex, False, "error: the server failed to store it"))

    def _auth(self, event: Event) -> None:
        why = auth_refusal(event, self.challenge, self.relay_url, self.relay.owner,
                           self.relay.clock.seconds())
        if why is None:
            self.owner_authenticated = True
        self.send(ok(event.id_hex, why is None, why or ""))

    def _close(self, subscription: str) -> None:
        self.subscriptions.pop(subscription, None)
        self.send(closed(subscription, ""))

    def _req(self, message: ReqMessage) -> None:
        settings = self.relay.settings
        sub_id = message.subscription
        if settings.private_reads and not self.owner_authenticated:
            self.send(closed(sub_id, "auth-required: this server's reads are private; "
                                     "AUTH as its owner first"))
            return
        if sub_id not in self.subscriptions and len(self.subscriptions) >= settings.max_subscriptions:
            self.send(closed(sub_id, f"rate-limited: at most {settings.max_subscriptions} "
                                     f"subscriptions per connection; CLOSE one first"))
            return
        if self.queries_in_flight >= settings.max_queries_in_flight:
            self.subscriptions.pop(sub_id, None)
            self.send(closed(sub_id, f"rate-limited: over {settings.max_queries_in_flight} "
                                     f"REQs being answered at once"))
            return
        subscription = Subscription(sub_id, message.filters,
                                    deque(maxlen=settings.max_early_live_events))
        self.subscriptions[sub_id] = subscription  # replaces one of the same id (NIP-01)
        self.queries_in_flight += 1
        answering = Deferred.fromCoroutine(self._answer(subscription))
        answering.addErrback(lambda f: log.failure("the relay failed to answer a REQ", f))

    async def _answer(self, subscription: Subscription) -> None:
        relay = self.relay
        try:
            try:
                answers = await gatherResults(
                    [Deferred.fromCoroutine(reads.answer(relay.store, f))
                     for f in subscription.filters],
                    consumeErrors=True)
            finally:
                self.queries_in_flight -= 1
        except Exception as e:
            log.warn("the store could not answer a REQ: {error}", error=repr(e))
            if self.subscriptions.get(subscription.id) is subscription:
                del self.subscriptions[subscription.id]
                self.send(closed(subscription.id, "error: the store could not answer; "
                                                  "try again"))
            return
        for event_filter, held in zip(subscription.filters, answers):
            if reads.asks_for_specific(event_filter):
                try:
                    # What is not held is fetched; it arrives here as a live event.
                    client = None if self.owner_authenticated else local_or_none(self.address)
                    relay.node.wanted(event_filter, held, client)  # fetches bounded per address
                except Exception:
                    log.failure("the node layer failed on a wanted filter")
        if self.subscriptions.get(subscription.id) is not subscription:
            return  # closed or replaced meanwhile
        stored = {}
        for held in answers:
            for event in held:
                stored[event.id] = event
        newest = sorted(stored.values(), key=lambda e: (-e.created_at, e.id))
        for event in newest[: relay.settings.max_req_events]:
            self.send(event_frame(subscription.frame_prefix, relay.hub.json_of(event)))
        self.send(eose(subscription.id))
        subscription.live = True
        early, subscription.early = subscription.early, None
        for event in early:
            if event.id not in stored:
                self.send(event_frame(subscription.frame_prefix, relay.hub.json_of(event)))

    def live(self, event: Event, text: bytes) -> None:
        """The hub's call for each newly stored event."""
        for subscription in list(self.subscriptions.values()):
            if not subscription.matches(event):
                continue
            if subscription.live:
                self.send(event_frame(subscription.frame_prefix, text))
            else:
                subscription.early.append(event)


class RelayFactory(WebSocketServerFactory):
    protocol = RelayConnection

    def __init__(self, relay):
        super().__init__()
        self.relay = relay
        settings = relay.settings
        self.setProtocolOptions(
            maxMessagePayloadSize=settings.max_message_bytes,
            maxFramePayloadSize=settings.max_message_bytes,
            # A client that opens a socket and says nothing does not hold it for long.
            openHandshakeTimeout=30,
            closeHandshakeTimeout=2,
            # A dead connection (a laptop that slept) must not hold its address's slot.
            autoPingInterval=settings.ping_interval_seconds,
            autoPingTimeout=settings.ping_timeout_seconds,
            # A refused connection ends with a closing handshake rather than a dropped socket,
            # so the client reads the NOTICE saying why before the close.
            failByDrop=False,
            # Text that is not UTF-8 gets a NOTICE from the JSON decoder (invalid:) instead of
            # failing the whole connection with 1007.
            utf8validateIncoming=False,
        )
        # Connections per IPv4 address or IPv6 /64, counted as the HTTP port counts its own.
        self.slots = AddressSlots(settings.max_connections_per_address)

    def buildProtocol(self, addr):
        connection = super().buildProtocol(addr)
        connection.relay = self.relay
        return connection
