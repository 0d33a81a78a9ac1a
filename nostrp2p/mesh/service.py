"""MeshService: the overlay core on a real UDP port, as a Twisted service.

The protocol adapter is thin: datagrams in, the core's datagrams out, one IDelayedCall kept at the
core's next deadline. STUN Binding requests on the same socket (first two bits zero) are answered
by nostrp2p.mesh.stun; everything else goes to the core, which drops and counts what it cannot use.
"""

from __future__ import annotations

import ipaddress
import random

from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.protocol import DatagramProtocol

from nostrp2p.logging import Logger

from nostrp2p.mesh import channel_positions, limits, root_log, stun
from nostrp2p.mesh.errors import Unreachable
from nostrp2p.mesh.identity import OWNER_KEY_SIZE, load_or_create
from nostrp2p.mesh.core import OverlayConfig, OverlayNode
from nostrp2p.mesh.relay_path import is_relayed


class _OverlayProtocol(DatagramProtocol):
    def __init__(self, service):
        self.service = service

    def datagramReceived(self, datagram, address):
        self.service._datagram(datagram, address)


def _check_address(address, what):
    host, port = address
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{what} host must be an IP address literal, not {host!r}") from None
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"{what} port must be 0-65535, not {port!r}")
    return (host, port)


class MeshService(Service):
    log = Logger()

    def __init__(self, listen, key_path, owner_key: bytes, bootstrap, reactor, network_password=None,
                 stun_servers=(), relay_bytes_per_second=limits.RELAY_BYTES_PER_SECOND,
                 bindings=None):
        if not isinstance(owner_key, bytes) or len(owner_key) != OWNER_KEY_SIZE:
            raise ValueError("the owner key is 32 bytes")
        self.listen = _check_address(listen, "listen")
        self.bootstrap = tuple(_check_address(a, "bootstrap") for a in bootstrap)
        self.stun_servers = tuple(_check_address(a, "STUN server") for a in stun_servers)
        self.relay_bytes_per_second = relay_bytes_per_second
        self.bindings = bindings  # the owner bindings' source (mesh/claims.py); None: none
        self.key_path = key_path
        self.owner_key = owner_key
        self.network_password = network_password
        self.reactor = reactor
        self.node = None
        self._port = None
        self._timer = None
        self._callbacks = []
        self._message_callbacks = []
        self._request_handler = None
        self._channel_callbacks = []
        self._follows = set()  # authors followed (kept across stop and start)
        # Where we stood in their channels (channel_positions.Kept), kept in a file beside the
        # key: after a restart, the catch-up asks for what came since and the join goes to the
        # parent we had; and our own channel's children, called back as we start
        self._positions_path = key_path + ".channels"
        self._positions = {}
        self._positions_timer = None
        # Our own channel's posts and numbering, kept across restarts (mesh/root_log.py)
        self._root_log_path = key_path + ".rootlog"
        self._send_errors = 0
        self._stun = stun.Responder()
        self._stun_malformed = 0

    # --- what the node layer calls ---------------------------------------------------------
    def on_broadcast(self, callback) -> None:
        """Register ``callback(payload: bytes, origin_owner_key: bytes, via: bytes) -> None``:
        the origin is as claimed; ``via`` is the overlay key of the authenticated neighbour
        that handed the broadcast over."""
        self._callbacks.append(callback)

    def broadcast(self, payload: bytes) -> bytes:
        """Send ``payload`` to every server; returns the 16-byte message id. Raises
        PayloadTooLarge above limits.MAX_BROADCAST_MESSAGE, RuntimeError when not running."""
        if self.node is None or not self.node.running:
            raise RuntimeError("the mesh service is not running")
        mid = self.node.broadcast(payload, self.reactor.seconds())
        self._pump()
        return mid

    def on_message(self, callback) -> None:
        """Register ``callback(payload: bytes, origin_owner_key: bytes, via: bytes) -> None`` for
        unicasts: the origin's owner key is as claimed (32 zero bytes when that owner's binding
        names another server: mesh/claims.py); ``via`` is the overlay key of the authenticated
        session it arrived on (the origin's own end-to-end session, relayed or not)."""
        self._message_callbacks.append(callback)

    def on_request(self, handler) -> None:
        """Set ``handler(payload, origin_owner_key, via) -> bytes | Deferred[bytes]``, the answerer
        of requests (``origin_owner_key`` and ``via`` as for :meth:`on_message`). Its failure is
        logged and the requester gets a RemoteError at once."""
        self._request_handler = handler

    def send(self, owner_key: bytes, payload: bytes) -> Deferred:
        """Deliver ``payload`` to the server of ``owner_key``. Fires when it acknowledged the
        whole message; fails with UnknownKey, Unreachable or TimedOut (mesh.errors). Raises
        PayloadTooLarge above limits.MAX_UNICAST_PAYLOAD."""
        result = Deferred()
        if not self._running_node():
            result.errback(Unreachable("the overlay is not running"))
            return result
        self.node.send_unicast(owner_key, payload, self.reactor.seconds(),
                               lambda error, _, now: self._settle(result, error, None))
        self._pump()
        return result

    def request(self, owner_key: bytes, payload: bytes, timeout: float | None = None) -> Deferred:
        """Ask the server of ``owner_key``; fires with its reply (bytes), or fails as send does,
        or with RemoteError (it could not answer) or TimedOut (no reply in time)."""
        result = Deferred()
        if not self._running_node():
            result.errback(Unreachable("the overlay is not running"))
            return result
        self.node.request(owner_key, payload, self.reactor.seconds(),
                          lambda error, reply, now: self._settle(result, error, reply), timeout)
        self._pump()
        return result

    # --- follower channels (mesh/channels.py) -----------------------------------------------
    def follow(self, author: bytes) -> None:
        """Join ``author``'s channel: its posts come to ``on_channel_post`` callbacks."""
        self._follows.add(author)
        if self._running_node():
            self._subscribe(author)
            self._pump()

    def _subscribe(self, author: bytes) -> None:
        since, parent, root = self._positions.get(author, channel_positions.Kept(None))
        self.node.channels.subscribe(author, self.reactor.seconds(), since, parent, root)

    def unfollow(self, author: bytes) -> None:
        self._follows.discard(author)
        if self._running_node():
            self.node.channels.unsubscribe(author, self.reactor.seconds())
            self._pump()

    def publish_to_followers(self, payload: bytes) -> None:
        """Send ``payload`` down our own channel. Raises ValueError above MAX_CHANNEL_PAYLOAD,
        RuntimeError when not running."""
        if not self._running_node():
            raise RuntimeError("the mesh service is not running")
        self.node.channels.publish(payload, self.reactor.seconds())
        self._pump()

    def on_channel_post(self, callback) -> None:
        """Register ``callback(author: bytes, payload: bytes)`` for posts of followed authors."""
        self._channel_callbacks.append(callback)

    def _channel_post(self, author, payload, epoch, seq, now):
        for callback in list(self._channel_callbacks):
            try:
                callback(author, payload)
            except Exception:
                self.log.failure("channel callback failed")
        self._positions_changed()

    def _positions_changed(self, *_) -> None:
        """A post held, a new parent, our own channel's children changed: saved with whatever else
        changes meanwhile."""
        if self._positions_timer is None:
            self._positions_timer = self.reactor.callLater(
                limits.CHANNEL_POSITIONS_SAVE_INTERVAL, self._save_positions)

    def _save_positions(self) -> None:
        if self._positions_timer is not None and self._positions_timer.active():
            self._positions_timer.cancel()
        self._positions_timer = None
        if self.node is None:
            return
        channels = self.node.channels
        for author in channels.subscriptions():
            # What is not known now (no post yet, no parent while joining) stays as kept before.
            since, parent, root = self._positions.get(author, channel_positions.Kept(None))
            self._positions[author] = channel_positions.Kept(
                channels.position(author) or since, channels.parent_of(author) or parent,
                channels.root_of(author) or root)
        for author in set(self._positions) - self._follows:
            del self._positions[author]
        try:
            channel_positions.save(self._positions_path, self._positions, channels.own_children())
        except OSError as e:
            self.log.warn("could not keep the channel positions in {path}: {why}",
                          path=self._positions_path, why=e.strerror)

    def _running_node(self) -> bool:
        return self.node is not None and self.node.running

    @staticmethod
    def _settle(result: Deferred, error, value) -> None:
        if error is None:
            result.callback(value)
        else:
            result.errback(error)

    def peers(self) -> list:
        """Active neighbours as PeerStatus values (overlay key, owner key, address, ...)."""
        return self.node.peers() if self.node is not None else []

    def stats(self) -> dict:
        """Counters: datagrams, deliveries, and every drop reason (``drop_*``)."""
        counters = dict(self.node.stats) if self.node is not None else {}
        counters["send_errors"] = self._send_errors
        counters.update(self._stun.stats)
        counters["drop_malformed_stun_request"] = self._stun_malformed
        return counters

    @property
    def overlay_key(self) -> bytes:
        return self.node.identity.public_key

    @property
    def address(self):
        """The (host, port) actually bound (useful with port 0)."""
        return (self.listen[0], self._port.getHost().port)

    # --- service lifecycle -----------------------------------------------------------------
    def startService(self):
        identity = load_or_create(self.key_path, self.owner_key)
        config = OverlayConfig(bootstrap=self.bootstrap, network_password=self.network_password,
                               stun_servers=self.stun_servers,
                               relay_bytes_per_second=self.relay_bytes_per_second)
        self.node = OverlayNode(identity, config, random.SystemRandom(), on_broadcast=self._deliver,
                                on_message=self._deliver_message, on_request=self._answer,
                                bindings=self.bindings)
        self.node.on_session = self._session_established
        # Unicast messages are taken once someone listens: before the node layer starts (its
        # store not ready yet) they must not be acknowledged and then dropped.
        self.node.takes_messages = lambda: bool(self._message_callbacks)
        self.node.channels.on_post = self._channel_post
        self.node.channels.on_joined = self._positions_changed
        self.node.channels.on_children = self._positions_changed
        root_log.attach(self.node.channels, self._root_log_path,
                        info=lambda line: self.log.info("{line}", line=line),
                        warn=lambda line: self.log.warn("{line}", line=line))
        self._positions = channel_positions.load(self._positions_path)
        self.node.channels.restore_children(channel_positions.load_children(self._positions_path))
        for author in self._follows:
            self._subscribe(author)
        self._port = self.reactor.listenUDP(self.listen[1], _OverlayProtocol(self), interface=self.listen[0])
        self.node.start(self.reactor.seconds())
        self.log.info("overlay listening on {host}:{port} as {key}", host=self.listen[0],
                      port=self._port.getHost().port, key=identity.public_key.hex())
        super().startService()
        self._pump()

    def stopService(self):
        super().stopService()
        self._save_positions()
        if self.node is not None and self.node.channels.root_log is not None:
            self.node.channels.root_log.close()
        if self.node is not None and self.node.running:
            neighbours = len(self.node.membership.active)
            self.node.stop(self.reactor.seconds())
            self._pump()
            self.log.info("overlay stopped, {count} neighbours told; counters {counters}",
                          count=neighbours, counters=dict(sorted(self.stats().items())))
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        port, self._port = self._port, None
        if port is not None:
            return port.stopListening()

    # --- adapter ---------------------------------------------------------------------------
    def _datagram(self, datagram, address):
        if stun.looks_like_stun(datagram):
            try:
                answer = self._stun.answer(datagram, address, self.reactor.seconds())
            except stun.StunError:
                self._stun_malformed += 1
                return
            if answer is not None:
                if answer:  # empty: over the source's allowance (counted)
                    self._write(answer, address)
            else:
                self.node.stun_received(datagram, address, self.reactor.seconds())
                self._pump()
            return
        self.node.datagram_received(datagram, address, self.reactor.seconds())
        self._pump()

    def _write(self, datagram, address):
        if self._port is None:
            return
        try:
            self._port.write(datagram, address)
        except Exception as exc:  # noqa: BLE001
            # An unreachable network (OSError), or an address the socket refuses (ValueError:
            # hosts are checked as IP literals when a message is decoded, and this keeps any
            # address that slips through from losing the rest of the batch and the timer).
            self._send_errors += 1
            self.log.debug("overlay send to {address} failed: {error}", address=address, error=exc)

    def _pump(self):
        for datagram, address in self.node.take_outgoing():
            self._write(datagram, address)
        deadline = self.node.next_deadline()
        if self._timer is not None and self._timer.active():
            if deadline is not None and self._timer.getTime() <= deadline:
                return
            self._timer.cancel()
        self._timer = None
        if deadline is not None:
            delay = max(0.0, deadline - self.reactor.seconds())
            self._timer = self.reactor.callLater(delay, self._tick)

    def _tick(self):
        self._timer = None
        self.node.tick(self.reactor.seconds())
        self._pump()

    def _session_established(self, overlay_key, owner, address):
        # (Debug level: rekeys repeat it.)
        if is_relayed(address):  # an end-to-end session whose datagrams a relay carries
            self.log.debug("overlay session with {owner} through {relay}", owner=owner.hex(),
                           relay=address.relay.hex(), overlay_key=overlay_key.hex())
            return
        self.log.debug("overlay session with {owner} at {host}:{port}", owner=owner.hex(),
                       host=address[0], port=address[1], overlay_key=overlay_key.hex())

    def _deliver_message(self, payload, origin, via):
        for callback in list(self._message_callbacks):
            try:
                callback(payload, origin, via)
            except Exception:
                self.log.failure("unicast callback failed")

    def _answer(self, payload, origin, via, respond):
        if self._request_handler is None:
            respond(None, self.reactor.seconds(), "this server answers no requests")
            self._pump()
            return

        def answered(reply):
            if not isinstance(reply, bytes):
                raise TypeError(f"a request handler answered {type(reply).__name__}, not bytes")
            self._respond(respond, reply, None)

        def failed(failure):
            self.log.failure("answering a request from {origin} failed", failure, origin=origin.hex())
            self._respond(respond, None, "the server could not answer")

        answering = maybeDeferred(self._request_handler, payload, origin, via)
        answering.addCallback(answered).addErrback(failed)

    def _respond(self, respond, reply, error):
        if self._running_node():
            respond(reply, self.reactor.seconds(), error)
            self._pump()

    def _deliver(self, payload, origin, mid, via):
        for callback in list(self._callbacks):
            try:
                callback(payload, origin, via)
            except Exception:
                self.log.failure("broadcast callback failed for message {mid}", mid=mid.hex())
