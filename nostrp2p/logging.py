"""Structured logging for the whole server, with one switch: --debug.

twistd builds its log observers after the service exists, so the level cannot be imposed on
them from here; instead every module of the server logs through :class:`Logger`, which drops
debug events unless debug logging was switched on. Everything else is twisted.logger as usual.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.logger import LogLevel
from twisted.logger import Logger as _TwistedLogger
from twisted.logger import globalLogPublisher, jsonFileLogObserver

_minimum = [LogLevel.info]


def configure_logging(debug: bool) -> None:
    _minimum[0] = LogLevel.debug if debug else LogLevel.info


def debug_enabled() -> bool:
    return _minimum[0] is LogLevel.debug


class Logger(_TwistedLogger):
    """twisted.logger.Logger that honours --debug."""

    def emit(self, level, format=None, **kwargs):
        if level is LogLevel.debug and not debug_enabled():
            return
        super().emit(level, format, **kwargs)


class JSONLogFile(Service):
    """Writes every log event, as one JSON object per line, to a file (``--log-json``): for log
    shippers and for ``twisted.logger.eventsFromJSONLogFile``."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._observer = None

    def startService(self) -> None:
        super().startService()
        self._file = open(self.path, "a", encoding="utf-8")
        self._observer = jsonFileLogObserver(self._file)
        globalLogPublisher.addObserver(self._observer)

    def stopService(self) -> None:
        if self._observer is not None:
            globalLogPublisher.removeObserver(self._observer)
            self._file.close()
            self._observer = self._file = None
        return super().stopService()
