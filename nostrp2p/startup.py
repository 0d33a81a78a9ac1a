"""The part of the server that can start only once the event store answers: the node, then the
REST endpoint (a client must never reach an API whose store is not there yet).

If the store cannot start or the REST endpoint cannot listen, the server says why and stops:
under systemd it is then restarted after a pause, and the log holds the reason.
"""

from __future__ import annotations

from typing import Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import serverFromString
from twisted.logger import LogLevel

from .activity import ActivitySummary, NeighbourLog, Periodic
from .api import api_site, make_api
from .api.relay import RelaySettings
from .collector import settle_after_start
from .lifecycle import one_line
from .logging import Logger
from .node.mesh_overlay import MeshOverlay
from .node.node import Node, NodeSettings

log = Logger()

CONNECTIVITY_CHECK_SECONDS = 1.0
"""How often the overlay's neighbour count is looked at: a server that gets its first neighbour,
or some again after losing them all (the home link was down), asks them at once for what it
missed."""


class ConnectivityWatch(Periodic):
    """Calls ``on_connected`` each time the overlay goes from no neighbours to some, and tells
    the log of neighbours (:class:`~nostrp2p.activity.NeighbourLog`)."""

    def __init__(self, mesh, clock, on_connected: Callable[[], None],
                 bootstrap: tuple[str, ...] = ()):
        super().__init__(clock, CONNECTIVITY_CHECK_SECONDS, self._check,
                         "the overlay connectivity watch", now=True)
        self.mesh = mesh
        self.on_connected = on_connected
        self.connected = False
        self.neighbours = NeighbourLog(clock, bootstrap)

    def _check(self) -> None:
        peers = self.mesh.peers()
        self.neighbours.observe(peer.overlay_key for peer in peers)
        connected = bool(peers)
        if connected and not self.connected:
            self.on_connected()
        self.connected = connected


class ServerStartup(Service):
    name = "node"

    def __init__(self, store_service, mesh, owner: bytes, rest_endpoint: str, writable: bool,
                 reactor, settings: NodeSettings = NodeSettings(),
                 on_fatal: Callable[[str], None] = lambda reason: None, on_api_request=None,
                 binding=None, private_reads: bool = False, bootstrap: tuple[str, ...] = (),
                 delivery: str = "broadcast"):
        self.store_service = store_service
        self.mesh = mesh
        self.owner = owner
        self.rest_endpoint = rest_endpoint
        self.writable = writable
        self.relay_settings = RelaySettings(private_reads=private_reads)
        self.reactor = reactor
        self.settings = settings
        self.binding = binding  # ServerBinding: the owner binding's state, for all to read
        self.on_fatal = on_fatal
        self.on_api_request = on_api_request  # called with each answered request (metrics)
        self.bootstrap = bootstrap
        self.delivery = delivery  # --delivery: how the owner's posts go out
        self.summary: Optional[ActivitySummary] = None
        self.node: Optional[Node] = None
        self.watch: Optional[ConnectivityWatch] = None
        self.port = None
        self._starting: Optional[Deferred] = None

    def startService(self) -> None:
        super().startService()
        self._starting = Deferred.fromCoroutine(self._start())
        self._starting.addErrback(self._fatal)

    async def _start(self) -> None:
        store = await self.store_service.when_ready()
        await store.protect_owner(self.owner)  # the owner's circle is never evicted
        if not self.running:
            return
        self.node = Node(store, MeshOverlay(self.mesh), self.owner, self.reactor, self.settings,
                         delivery=self.delivery)
        self.node.start()
        self.watch = ConnectivityWatch(self.mesh, self.reactor, self.node.overlay_ready,
                                       self.bootstrap)
        self.watch.start()
        self.summary = ActivitySummary(self.reactor, lambda: self.node.counters)
        self.summary.start()
        resource = make_api(store, self.node, self.owner, self.writable, self.binding,
                            self.relay_settings, self.reactor)
        endpoint = serverFromString(self.reactor, self.rest_endpoint)
        self.port = await endpoint.listen(api_site(resource, self.on_api_request, self.reactor))
        if not self.running:
            await self.port.stopListening()
            self.port = None
            return
        settle_after_start()
        address = self.port.getHost()
        log.info("REST API listening on {host}:{port}{mode}", host=getattr(address, "host", "?"),
                 port=getattr(address, "port", "?"), mode="" if self.writable else " (deny-write)")

    def _fatal(self, failure) -> None:
        if failure.check(CancelledError) or not self.running:  # stopped while starting
            return
        log.failure("why the server cannot start", failure, level=LogLevel.debug)
        self.on_fatal(one_line(failure.value))

    async def _stop(self) -> None:
        if self._starting is not None and not self._starting.called:
            self._starting.cancel()
        if self.port is not None:
            port, self.port = self.port, None
            await port.stopListening()
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        if self.summary is not None:
            self.summary.stop()
            self.summary = None
        if self.node is not None:
            node, self.node = self.node, None
            node.stop()
            # What arrived is stored before the store stops (it stops after this service).
            await node.settled()

    def stopService(self) -> Deferred:
        super().stopService()
        return Deferred.fromCoroutine(self._stop())
