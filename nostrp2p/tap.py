"""The module behind ``twistd nostrp2p`` (see twisted/plugins/nostrp2p_plugin.py)."""

from .options import ServerOptions as Options
from .service import make_service


def makeService(options: Options):
    return make_service(options.config)


__all__ = ["Options", "makeService"]
