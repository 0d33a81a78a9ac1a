"""The module behind ``twistd nostrp2p`` (see twisted/plugins/nostrp2p_plugin.py)."""

from twisted.internet import reactor

from .config import ConfigError
from .lifecycle import Lifecycle
from .options import ServerOptions as Options, fail
from .service import make_service


def makeService(options: Options):
    lifecycle = Lifecycle(reactor)
    try:
        service = make_service(options.config, reactor=reactor, lifecycle=lifecycle)
    except ConfigError as e:
        fail(str(e))
    lifecycle.install()
    return service


__all__ = ["Options", "makeService"]
