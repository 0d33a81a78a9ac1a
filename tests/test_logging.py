"""--debug switches debug events on; --log-json writes every event as a JSON line."""

from twisted.logger import LogLevel, capturedLogs, eventsFromJSONLogFile
from twisted.trial.unittest import TestCase

from nostrp2p.logging import JSONLogFile, Logger, configure_logging


class LevelTests(TestCase):
    def setUp(self):
        self.addCleanup(configure_logging, False)
        self.log = Logger(namespace="nostrp2p.test")

    def test_debug_is_dropped_unless_enabled(self):
        configure_logging(False)
        with capturedLogs() as events:
            self.log.debug("hidden {x}", x=1)
            self.log.info("shown")
        self.assertEqual([e["log_format"] for e in events], ["shown"])
        configure_logging(True)
        with capturedLogs() as events:
            self.log.debug("visible {x}", x=2)
        self.assertEqual([(e["log_level"], e["x"]) for e in events], [(LogLevel.debug, 2)])


class JSONLogFileTests(TestCase):
    def test_events_round_trip_through_the_file(self):
        path = self.mktemp()
        service = JSONLogFile(path)
        service.startService()
        Logger(namespace="nostrp2p.test").info("stored {count} events", count=3)
        service.stopService()
        Logger(namespace="nostrp2p.test").info("after stop")  # no longer written
        with open(path, encoding="utf-8") as f:
            events = [e for e in eventsFromJSONLogFile(f) if e.get("log_namespace") == "nostrp2p.test"]
        self.assertEqual([(e["log_format"], e.get("count")) for e in events], [("stored {count} events", 3)])
