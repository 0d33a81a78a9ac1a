"""Builds the server: one MultiService holding the store, the overlay, and the node with the REST
API, started in that order (each needs the ones before it) and stopped in reverse."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Optional

from .admin.service import AdminService
from .binding import OVERLAY_KEY_FILE, load_server_binding
from .binding.overlay_source import OverlayBindings
from .config import ConfigError, HostPort, ServerConfig
from .lifecycle import Lifecycle, ServerService
from .logging import JSONLogFile, Logger, configure_logging
from .mesh.service import MeshService
from .node.node import NodeSettings
from .startup import ServerStartup
from .store import StoreConfigError, StoreService
from .version import VERSION

log = Logger()

REDIS_SUBDIR = "redis"


def prepare_data_dir(config: ServerConfig) -> None:
    """Create the data directory (0700: it holds the overlay's secret key) or say why not."""
    path = config.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--datadir: cannot create {path}: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"--datadir: {path} is not writable by this user")


def resolve_addresses(option: str, peers: tuple[HostPort, ...], listen_host: str = "0.0.0.0",
                      getaddrinfo=socket.getaddrinfo) -> tuple[tuple[str, int], ...]:
    """Bootstrap peers or STUN servers as (IP, port): the overlay addresses them by IP. Names are
    looked up once, at start; one that does not resolve is a configuration error (under systemd
    the server is started again shortly, when the network may be up). A name with several A or
    AAAA records gives every address of the overlay socket's family (a community publishes one
    name for its bootstrap servers, and each is tried)."""
    family = socket.AF_INET6 if ":" in listen_host else socket.AF_INET
    resolved = []
    for peer in peers:
        try:
            ipaddress.ip_address(peer.host)
            resolved.append((peer.host, peer.port))
            continue
        except ValueError:
            pass
        try:
            infos = getaddrinfo(peer.host, peer.port, family, socket.SOCK_DGRAM)
        except OSError as e:
            raise ConfigError(f"--{option}: cannot resolve {peer.host!r}: {e}") from None
        resolved += [(info[4][0], peer.port) for info in infos]
    return tuple(dict.fromkeys(resolved))


def make_service(config: ServerConfig, reactor=None,
                 lifecycle: Optional[Lifecycle] = None) -> ServerService:
    """The whole server. ``lifecycle.fatal`` is called when it cannot start after all (a port
    taken, the store not ready by its deadline); by default the server stops with status 1."""
    if reactor is None:
        from twisted.internet import reactor
    if lifecycle is None:
        lifecycle = Lifecycle(reactor)
    configure_logging(config.debug)
    settings = node_settings(config)
    prepare_data_dir(config)
    log.info(
        "NostrP2P {version} for {owner}: overlay {overlay}, REST {rest}, data in {data_dir}",
        version=VERSION, owner=config.owner_pubkey.hex(), overlay=str(config.overlay),
        rest=config.rest_endpoint, data_dir=str(config.data_dir),
    )
    binding = load_server_binding(config.data_dir, config.owner_pubkey, reactor)
    top = ServerService(lifecycle)
    top.setName("nostrp2p")
    if config.log_json is not None:
        JSONLogFile(str(config.log_json)).setServiceParent(top)

    try:
        store = StoreService(str(config.data_dir / REDIS_SUBDIR), redis_url=config.redis_url,
                             max_events=config.max_events, reactor=reactor)
    except StoreConfigError as e:
        raise ConfigError(f"--redis: {e}") from None
    store.setServiceParent(top)

    mesh = MeshService(
        listen=(config.overlay.host, config.overlay.port),
        key_path=str(config.data_dir / OVERLAY_KEY_FILE),
        owner_key=config.owner_pubkey,
        bootstrap=resolve_addresses("bootstrap", config.bootstrap, config.overlay.host),
        reactor=reactor,
        network_password=config.network_password,
        stun_servers=resolve_addresses("stun-server", config.stun_servers, config.overlay.host),
        relay_bytes_per_second=config.relay_kib_per_second * 1024,
        bindings=OverlayBindings(lambda: binding.binding),
    )
    mesh.setName("overlay")
    mesh.setServiceParent(top)

    admin = AdminService(config, store, mesh, reactor)
    startup = ServerStartup(store, mesh, config.owner_pubkey, config.rest_endpoint,
                            writable=not config.deny_write, reactor=reactor, settings=settings,
                            on_fatal=lifecycle.fatal, on_api_request=admin.api_request_finished,
                            binding=binding, private_reads=config.private_reads,
                            bootstrap=tuple(map(str, config.bootstrap)), delivery=config.delivery)
    startup.setServiceParent(top)
    admin.attach(startup)
    admin.setServiceParent(top)
    return top


def node_settings(config: ServerConfig) -> NodeSettings:
    try:
        return NodeSettings(resend_base_seconds=config.resend_base_seconds,
                            resend_check_seconds=config.resend_check_seconds)
    except ValueError as e:
        raise ConfigError(str(e)) from None
