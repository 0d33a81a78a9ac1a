"""How the server process starts and ends, so that a supervisor can rely on it.

- A server that cannot run (a port taken, the store unreachable past its deadline, an unusable
  data directory) says why in one critical log line and exits with status 1: systemd then
  restarts it after a pause, and the journal holds the reason.
- SIGTERM or SIGINT stops it cleanly (status 0) within STOP_DEADLINE_SECONDS whatever it is
  doing; a second signal while stopping is only noted.
- The services start in order; if one cannot start, those already started are stopped again
  (the embedded redis-server among them), never left behind.

twistd decides the exit status itself (0 unless killed by a signal), and nothing it offers lets
a plugin change it; so when a fatal reason was recorded, an ``atexit`` hook ends the process
with status 1 once twistd has finished its own cleanup.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys

from twisted.application.service import MultiService
from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.error import ReactorNotRunning
from twisted.logger import ILogObserver
from twisted.python.failure import Failure

from .logging import Logger

log = Logger()

EXIT_FATAL = 1
STOP_DEADLINE_SECONDS = 8.0
"""Stopping gives up waiting for the services after this long (a supervisor's SIGKILL usually
follows 10 s after its SIGTERM); the embedded redis-server still gets its parent-death signal."""

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def one_line(error: BaseException) -> str:
    """An exception as a person reads it: its message on one line, or its type's name."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


class Lifecycle:
    """Stops the reactor once, for a signal or a fatal reason, and remembers the exit status."""

    def __init__(self, reactor):
        self.reactor = reactor
        self.status = 0
        self.stopping = False
        self._exit_hook = False

    def install(self) -> None:
        """Take over SIGTERM and SIGINT once the reactor runs (it installs its own while starting,
        whose second signal would raise ReactorNotRunning)."""
        self.reactor.callWhenRunning(self._install_signals)

    def _install_signals(self) -> None:
        for number in _STOP_SIGNALS:
            signal.signal(number, self._on_signal)

    def _on_signal(self, number, frame) -> None:
        self.reactor.callFromThread(self._signalled, number)

    def _signalled(self, number: int) -> None:
        name = signal.Signals(number).name
        if self.stopping:
            log.info("{signal} received while stopping; still stopping", signal=name)
            return
        log.info("{signal} received: stopping", signal=name)
        self.stop()

    def fatal(self, reason: str) -> None:
        """The server cannot run: say why in one line, stop, and exit with status 1."""
        if self.status == 0:
            log.critical("the server cannot start: {reason}", reason=reason)
            self.status = EXIT_FATAL
            if not self._exit_hook:
                self._exit_hook = True
                atexit.register(self._exit_with_status)
        self.stop()

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        if not self.reactor.running:
            self.reactor.callWhenRunning(self._stop_reactor)
        else:
            self._stop_reactor()

    def _stop_reactor(self) -> None:
        try:
            self.reactor.stop()
        except ReactorNotRunning:  # already on its way down
            pass

    def _exit_with_status(self) -> None:
        if self.status:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(self.status)


class ServerService(MultiService):
    """The server's services, started in order and stopped in reverse. One that cannot start
    makes the server stop with the reason (:meth:`Lifecycle.fatal`) instead of a traceback; only
    those that started are stopped. Stopping waits at most STOP_DEADLINE_SECONDS."""

    def __init__(self, lifecycle: Lifecycle):
        super().__init__()
        self.lifecycle = lifecycle
        self.log_observer = None
        self._started: list = []

    def setServiceParent(self, parent) -> None:
        super().setServiceParent(parent)
        # twistd writes its log with the ILogObserver component of the application it parents
        # this service to, when there is one: the server's own (logging.people_observer).
        if self.log_observer is not None and hasattr(parent, "setComponent"):
            if parent.getComponent(ILogObserver, None) is None:
                parent.setComponent(ILogObserver, self.log_observer)

    def startService(self) -> None:
        self.running = 1
        for child in self:
            try:
                child.startService()
            except Exception as e:
                self.lifecycle.fatal(one_line(e))
                return
            self._started.append(child)
            if self.lifecycle.stopping:
                return

    def stopService(self) -> Deferred:
        self.lifecycle.stopping = True
        self.running = 0
        started, self._started = self._started, []
        done = Deferred.fromCoroutine(self._stop_in_reverse(started))
        reactor = self.lifecycle.reactor
        timer = reactor.callLater(STOP_DEADLINE_SECONDS, self._too_slow, done)
        return done.addBoth(_cancel_timer, timer)

    @staticmethod
    async def _stop_in_reverse(started: list) -> None:
        for child in reversed(started):
            try:
                await maybeDeferred(child.stopService)
            except CancelledError:
                raise
            except Exception as e:
                log.warn("stopping the {name} failed: {why}", name=child.name or "service",
                         why=one_line(e))

    @staticmethod
    def _too_slow(done: Deferred) -> None:
        if not done.called:
            log.warn("stopping took more than {s} s; exiting without waiting any longer",
                     s=STOP_DEADLINE_SECONDS)
            done.cancel()


def _cancel_timer(result, timer):
    if timer.active():
        timer.cancel()
    if isinstance(result, Failure) and result.check(CancelledError):
        return None  # given up at the deadline: logged already
    return result


