"""The overlay as the node sees it (:class:`IOverlay`), provided by the mesh service.

The mesh speaks in its own terms (typed unicast errors, a payload limit); the node only needs to
know whether something got through, so every mesh failure becomes :class:`UnicastFailed` with the
mesh's reason as its message, and a broadcast that cannot be sent is logged, never raised into
the REST request that caused it.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail
from zope.interface import implementer

from ..logging import Logger
from ..mesh.broadcast import PayloadTooLarge
from ..mesh.errors import UnicastError
from .overlay import IOverlay, UnicastFailed

log = Logger()


def _as_unicast_failed(failure):
    failure.trap(UnicastError, PayloadTooLarge)
    raise UnicastFailed(f"{type(failure.value).__name__}: {failure.getErrorMessage()}")


@implementer(IOverlay)
class MeshOverlay:
    def __init__(self, mesh):
        self.mesh = mesh

    def broadcast(self, payload: bytes) -> None:
        try:
            self.mesh.broadcast(payload)
        except PayloadTooLarge as e:
            log.warn("not broadcast, too large for the overlay: {why}", why=str(e))
        except RuntimeError as e:  # the overlay is stopping
            log.warn("not broadcast: {why}", why=str(e))

    def send(self, owner_key: bytes, payload: bytes) -> Deferred:
        return self._call("send", owner_key, payload)

    def request(self, owner_key: bytes, payload: bytes) -> Deferred:
        return self._call("request", owner_key, payload)

    def neighbours(self) -> list:
        return [peer.owner_key for peer in self.mesh.peers()]

    def set_handlers(self, on_broadcast, on_message, on_request) -> None:
        self.mesh.on_broadcast(on_broadcast)
        self.mesh.on_message(on_message)
        self.mesh.on_request(on_request)

    def follow(self, owner_key: bytes) -> None:
        self.mesh.follow(owner_key)

    def unfollow(self, owner_key: bytes) -> None:
        self.mesh.unfollow(owner_key)

    def publish_to_followers(self, payload: bytes) -> None:
        try:
            self.mesh.publish_to_followers(payload)
        except (ValueError, RuntimeError) as e:  # too large; the overlay is stopping
            log.warn("not sent to followers: {why}", why=str(e))

    def set_channel_handler(self, on_post) -> None:
        self.mesh.on_channel_post(on_post)

    def _call(self, name: str, owner_key: bytes, payload: bytes) -> Deferred:
        try:
            sent = getattr(self.mesh, name)(owner_key, payload)
        except (UnicastError, PayloadTooLarge) as e:
            return fail(UnicastFailed(f"{type(e).__name__}: {e}"))
        return sent.addErrback(_as_unicast_failed)
