"""AdminService: the admin endpoint of a running server.

It listens on a unix socket, ``admin.sock`` in the data directory, mode 0600, in a directory
that is itself 0700: only the user the server runs as (and root) can connect, and no other host
can at all. A TCP port on loopback would be open to every local user, and one typo in its
address would open it to the network; a socket file needs no port and no password, and is
found from ``--datadir`` alone. A scraper on the same machine reads /metrics through it (see
docs/METRICS.md).

Every SAMPLE_SECONDS it looks at the overlay (for "no neighbours for N minutes") and asks the
store how many events and resend items it holds, so that a status or a scrape never waits for
Redis.
"""

from __future__ import annotations

import os
import socket

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.web.server import Site

from ..activity import Periodic
from ..api.site import BoundedRequest
from ..logging import Logger
from ..version import VERSION
from . import limits
from .mesh_view import MeshView
from .metrics import ServerCollector, make_registry
from .paths import admin_socket_path
from .resource import admin_resource
from .status import NO_BOOTSTRAP_ADVICE, Facts
from .watch import NetworkWatch

log = Logger()


def server_version() -> str:
    return VERSION


def clear_stale_socket(path: str) -> str | None:
    """Remove a socket file nobody listens on (left by a server that crashed); say why not
    when a server answers on it (another server runs on this data directory)."""
    if not os.path.exists(path):
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
        return None
    except OSError as e:
        return f"{path} exists and cannot be used: {e.strerror}"
    finally:
        probe.close()
    return "another server is running on this data directory"


class _AdminSite(Site):
    requestFactory = BoundedRequest  # a request body is refused past the REST API's bound
    noisy = False

    def log(self, request):
        pass


class AdminService(Service):
    name = "admin"

    def __init__(self, config, store_service, mesh, reactor):
        self.config = config
        self.store_service = store_service
        self.view = MeshView(mesh)
        self.reactor = reactor
        self.startup = None  # the ServerStartup, whose node exists once the store answered
        self.socket_path = admin_socket_path(config.data_dir)
        self.version = server_version()
        self.watch: NetworkWatch | None = None
        self.started_at: float | None = None
        self.events_held: int | None = None
        self.resend_queue: int | None = None
        self.registry, self.api = make_registry(ServerCollector(self.facts, self._node, self._store))
        self._loop = Periodic(reactor, limits.SAMPLE_SECONDS, self._sample,
                              "the admin endpoint's sampling", now=True)
        self._port = None

    def api_request_finished(self, request) -> None:
        """Called by the REST API's site for each request it answered."""
        self.api.request_finished(request)

    def attach(self, startup) -> None:
        self.startup = startup

    # --- what status and metrics read ------------------------------------------------------
    def _node(self):
        return getattr(self.startup, "node", None)

    def _store(self):
        return getattr(self.store_service, "store", None)

    def facts(self) -> Facts | None:
        if self.watch is None:
            return None
        node = self._node()
        return Facts(
            now=self.reactor.seconds(), version=self.version, owner=self.config.owner_pubkey,
            started_at=self.started_at, view=self.view, watch=self.watch,
            bootstrap_given=tuple(str(b) for b in self.config.bootstrap),
            rest=self.config.rest_endpoint, events_held=self.events_held,
            resend_queue=self.resend_queue,
            failures=list(node.resender.failures) if node is not None else [],
            store_ready=self._store() is not None and node is not None,
            binding=self._binding(),
        )

    def _binding(self):
        binding = getattr(self.startup, "binding", None)
        return binding.status() if binding is not None else None

    # --- lifecycle -------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        self.started_at = self.reactor.seconds()
        self.watch = NetworkWatch(self.started_at)
        if not self.view.bootstrap():
            log.warn("{advice}", advice=NO_BOOTSTRAP_ADVICE)
        self._listen()
        self.store_service.when_ready().addCallbacks(lambda _: self._sample(), lambda _: None)
        self._loop.start()

    def _listen(self) -> None:
        path = str(self.socket_path)
        if len(path.encode()) > limits.MAX_SOCKET_PATH_BYTES:
            log.warn("no admin socket (nostrp2p status, /metrics): its path {path} is longer "
                     "than a unix socket path may be; use a shorter --datadir", path=path)
            return
        why = clear_stale_socket(path)
        if why is None:
            site = _AdminSite(admin_resource(self.facts, self.registry))
            try:
                self._port = self.reactor.listenUNIX(path, site, mode=0o600)
            except CannotListenError as e:
                why = str(e)
                if site.numPorts:
                    site.doStop()
        if why is not None:
            log.warn("no admin socket (nostrp2p status, /metrics) at {path}: {why}",
                     path=path, why=why)
            return
        log.info("admin socket {path}: nostrp2p status --datadir {datadir}", path=path,
                 datadir=str(self.config.data_dir))

    def stopService(self):
        super().stopService()
        self._loop.stop()
        port, self._port = self._port, None
        if port is not None:
            return port.stopListening()

    def _sample(self) -> Deferred | None:
        if not self.running:
            return None
        self.watch.sample(self.view, self.reactor.seconds())
        store = self._store()
        if store is None:
            return None
        return Deferred.fromCoroutine(self._count(store)).addErrback(self._count_failed)

    async def _count(self, store) -> None:
        self.events_held = await store.count()
        self.resend_queue = await store.resend_count()

    def _count_failed(self, failure) -> None:
        log.debug("the admin endpoint could not count the store: {why}",
                  why=failure.getErrorMessage())
        self.events_held = self.resend_queue = None
