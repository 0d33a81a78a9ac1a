"""Logging for the whole server, with one switch: --debug.

twistd builds its log observers after the service exists, so the level cannot be imposed on
them from here; instead every module of the server logs through :class:`Logger`, which drops
debug events unless debug logging was switched on, and the observer twistd would write with is
wrapped by :func:`for_people`, which moves Twisted's own routine chatter (a protocol or port
starting and stopping, a client's reconnection attempts) to debug level as well.

``--log-json`` (:class:`JSONLogFile`) writes every event that passes as one JSON object per
line: ``time``, ``level`` (a string), ``namespace``, ``message`` (the text as the text log
shows it), the event's own fields, and ``traceback`` for a failure.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from twisted.application.service import Service
from twisted.logger import (
    FilteringLogObserver, ILogObserver, LegacyLogObserverWrapper, LogLevel, PredicateResult,
    formatEvent, globalLogPublisher,
)
from twisted.logger import Logger as _TwistedLogger

_minimum = [LogLevel.info]

_ROUTINE = re.compile(
    r"(Starting|Stopping) (protocol|factory) "
    r"|\S+ starting on \S+$"
    r"|\((UDP|TCP|UNIX) Port \S+ Closed\)$"
    r"|Scheduling retry \d+ to connect "
    r"|Redis error: could not connect"
    r"|Discarding dead connection"
)
"""Twisted's and txredisapi's lines a person does not need: they name objects, not events."""


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


def for_people(event: dict) -> PredicateResult:
    """A log filter predicate: Twisted's routine lines pass only with --debug."""
    if debug_enabled() or event.get("log_level", LogLevel.info) >= LogLevel.warn:
        return PredicateResult.maybe
    if event.get("log_namespace", "").startswith("nostrp2p"):
        return PredicateResult.maybe
    text = formatEvent(event)
    return PredicateResult.no if _ROUTINE.match(text) else PredicateResult.maybe


def people_observer(observer) -> ILogObserver:
    """``observer`` (new or legacy style) behind the :func:`for_people` filter."""
    if not ILogObserver.providedBy(observer):
        observer = LegacyLogObserverWrapper(observer)
    return FilteringLogObserver(observer, [for_people])


def json_line(event: dict) -> str:
    """One log event as one line of JSON (no record separator, string level, message text)."""
    level = event.get("log_level", LogLevel.info)
    record = {
        "time": datetime.fromtimestamp(event.get("log_time", 0), timezone.utc).isoformat(),
        "level": getattr(level, "name", str(level)),
        "namespace": event.get("log_namespace", "-"),
        "message": formatEvent(event),
    }
    for key, value in event.items():
        if not key.startswith("log_") and key not in record and isinstance(
                value, (str, int, float, bool, type(None))):
            record[key] = value
    failure = event.get("log_failure")
    if failure is not None:
        record["traceback"] = failure.getTraceback()
    return json.dumps(record, ensure_ascii=False)


class JSONLogFile(Service):
    """Writes every log event that a person would see, as one JSON object per line, to a file
    (``--log-json``): for log shippers and ``jq``."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._observer = None

    def startService(self) -> None:
        super().startService()
        self._file = open(self.path, "a", encoding="utf-8")
        self._observer = FilteringLogObserver(self._write, [for_people])
        globalLogPublisher.addObserver(self._observer)

    def _write(self, event: dict) -> None:
        self._file.write(json_line(event) + "\n")
        self._file.flush()

    def stopService(self) -> None:
        if self._observer is not None:
            globalLogPublisher.removeObserver(self._observer)
            self._file.close()
            self._observer = self._file = None
        return super().stopService()
