"""Helpers for tests of any layer that needs a real store (a real embedded redis-server)."""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred

from . import limits
from .service import StoreService


def start_test_service(testcase, max_events: int = limits.MAX_EVENTS,
                       fsync: Optional[str] = None, data_dir: Optional[str] = None,
                       **kwargs) -> Deferred:
    """Start a StoreService on an embedded redis-server in ``testcase.mktemp()`` (or
    ``data_dir``); fires with the started service, which is stopped by the test's cleanup."""
    service = StoreService(data_dir or testcase.mktemp(), max_events=max_events, fsync=fsync,
                           **kwargs)
    service.startService()
    testcase.addCleanup(service.stopService)
    return service.when_ready().addCallback(lambda _store: service)


def start_test_store(testcase, max_events: int = limits.MAX_EVENTS) -> Deferred:
    """Fires with a started IEventStore on its own embedded redis-server (no persistence);
    everything is stopped by the test's cleanup."""
    return start_test_service(testcase, max_events=max_events).addCallback(lambda s: s.store)
