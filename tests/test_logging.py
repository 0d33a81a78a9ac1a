"""Logs for people: --debug switches debug events on, Twisted's routine chatter and
redis-server's start-up banner stay out of an info-level log, --log-json writes one JSON object
per line, and the neighbour and activity lines say what happened."""

import json
from collections import Counter

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from nostrp2p import activity
from nostrp2p.activity import ActivitySummary, NeighbourLog
from nostrp2p.logging import JSONLogFile, Logger, configure_logging, people_observer
from nostrp2p.store.embedded import redis_line_level


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

    def test_twisted_routine_lines_pass_only_with_debug(self):
        seen = []
        observer = people_observer(seen.append)
        routine = ["Starting protocol <nostrp2p.mesh.service._OverlayProtocol object at 0x7f>",
                   "_OverlayProtocol starting on 20000", "(UDP Port 20000 Closed)",
                   "Scheduling retry 3 to connect <UNIXClientEndpoint object at 0x7f> in 2 s."]
        for text in routine + ["Main loop terminated."]:
            observer({"log_level": LogLevel.info, "log_namespace": "twisted", "log_format": text,
                      "log_time": 0})
        self.assertEqual([e["log_format"] for e in seen], ["Main loop terminated."])
        configure_logging(True)
        observer({"log_level": LogLevel.info, "log_namespace": "twisted",
                  "log_format": routine[0], "log_time": 0})
        self.assertEqual(len(seen), 2)
        configure_logging(False)

    def test_redis_server_lines_at_their_real_level_and_its_banner_at_debug(self):
        prefix = "984:M 30 Nov 2026 17:37:29.521 "
        self.assertEqual(redis_line_level(prefix + "# Configuration loaded"),
                         (LogLevel.debug, "Configuration loaded"))
        self.assertEqual(redis_line_level(prefix + "# oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")[0],
                         LogLevel.debug)
        self.assertEqual(redis_line_level(prefix + "# WARNING Memory overcommit must be enabled!"),
                         (LogLevel.warn, "WARNING Memory overcommit must be enabled!"))
        self.assertEqual(redis_line_level(prefix + "* Background saving started by pid 5")[0],
                         LogLevel.info)
        self.assertEqual(redis_line_level(prefix + ". Client closed connection")[0], LogLevel.debug)
        self.assertEqual(redis_line_level("                _._")[0], LogLevel.debug)


class JSONLogFileTests(TestCase):
    def test_one_json_object_per_line_with_level_and_message(self):
        path = self.mktemp()
        service = JSONLogFile(path)
        service.startService()
        Logger(namespace="nostrp2p.test").info("stored {count} events", count=3)
        Logger(namespace="nostrp2p.test").warn("odd {thing}", thing=object())
        service.stopService()
        Logger(namespace="nostrp2p.test").info("after stop")  # no longer written
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]  # every line is JSON by itself
        records = [r for r in records if r["namespace"] == "nostrp2p.test"]
        self.assertEqual([(r["level"], r["message"]) for r in records][0],
                         ("info", "stored 3 events"))
        self.assertEqual(records[0]["count"], 3)
        self.assertEqual(records[1]["level"], "warn")
        self.assertNotIn("thing", records[1])  # no object reprs as fields
        self.assertEqual(len(records), 2)


class NeighbourLogTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.log = NeighbourLog(self.clock, ["192.0.2.1:20000"])

    def lines(self, *steps):
        with capturedLogs() as events:
            for seconds, keys in steps:
                self.clock.advance(seconds)
                self.log.observe(keys)
        return [(e["log_level"].name, formatEvent(e)) for e in events]

    def test_joined_then_neighbours_summarised_once_a_minute(self):
        lines = self.lines((1, [b"a"]), (1, [b"a", b"b"]), (1, [b"b", b"c"]), (30, [b"b", b"c"]),
                           (30, [b"b", b"c"]))
        self.assertEqual(lines, [("info", "joined the overlay: 1 neighbour"),
                                 ("info", "2 neighbours (2 gained, 1 lost in the last 1 min)")])

    def test_alone_for_a_minute_names_the_bootstrap_and_repeats_rarely(self):
        steps = [(1, [])] * 59 + [(1, [])] + [(60, [])] * 5
        lines = self.lines(*steps)
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0][0], "warn")
        self.assertIn("no neighbour for 60 s: the bootstrap servers 192.0.2.1:20000", lines[0][1])
        self.assertEqual(len(self.lines((activity.ALONE_REPEAT_SECONDS, []))), 1)


class ActivitySummaryTests(TestCase):
    def test_says_what_happened_since_the_last_summary_and_nothing_when_idle(self):
        clock = Clock()
        counters = Counter(stored=5)
        summary = ActivitySummary(clock, lambda: counters)
        summary.start()
        self.addCleanup(summary.stop)
        counters.update(stored=3, unicast_delivered=2, fetch_failed=1)
        with capturedLogs() as events:
            clock.advance(activity.SUMMARY_SECONDS)
            clock.advance(activity.SUMMARY_SECONDS)  # nothing new: silent
        self.assertEqual([formatEvent(e) for e in events], [
            "in the last 5 min: 3 events stored from other servers; 2 mentions, replies or "
            "reactions delivered; 1 fetches failed"])
