"""The module behind ``twistd nostrp2p`` (see twisted/plugins/nostrp2p_plugin.py)."""

from twisted.internet import reactor

from .config import ConfigError
from .lifecycle import Lifecycle
from .logging import people_observer
from .options import ServerOptions as Options, fail
from .service import make_service


def makeService(options: Options):
    lifecycle = Lifecycle(reactor)
    try:
        service = make_service(options.config, reactor=reactor, lifecycle=lifecycle)
    except ConfigError as e:
        fail(str(e))
    service.log_observer = twistd_observer(options.parent)
    lifecycle.install()
    return service


def twistd_observer(twistd_options):
    """The observer twistd would write its log with (--logfile, --syslog...), behind the
    server's filter; None when twistd was given its own --logger."""
    if twistd_options is None or twistd_options.get("logger"):
        return None
    from twisted.scripts._twistd_unix import UnixAppLogger
    return people_observer(UnixAppLogger(twistd_options)._getLogObserver())


__all__ = ["Options", "makeService"]
