"""Builds the server: one MultiService holding the store, the overlay, the node and the REST API,
started in that order (each needs the ones before it) and stopped in reverse."""

from __future__ import annotations

import os

from twisted.application.service import MultiService


from .config import ConfigError, ServerConfig
from .logging import JSONLogFile, Logger, configure_logging

log = Logger()


def prepare_data_dir(config: ServerConfig) -> None:
    """Create the data directory (0700: it holds the overlay's secret key) or say why not."""
    path = config.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--datadir: cannot create {path}: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"--datadir: {path} is not writable by this user")


def make_service(config: ServerConfig) -> MultiService:
    configure_logging(config.debug)
    prepare_data_dir(config)
    top = MultiService()
    top.setName("nostrp2p")
    if config.log_json is not None:
        JSONLogFile(str(config.log_json)).setServiceParent(top)
    log.info(
        "NostrP2P server for {owner}: overlay {overlay}, REST {rest}, data in {data_dir}",
        owner=config.owner_pubkey.hex(), overlay=str(config.overlay),
        rest=config.rest_endpoint, data_dir=str(config.data_dir),
    )
    return top
