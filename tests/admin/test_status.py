"""The status document and its warnings in words, from a stand-in overlay and a fake clock."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.admin.status import NO_BOOTSTRAP_ADVICE, Facts, build_status, in_words, reachability
from nostrp2p.admin.watch import NetworkWatch
from nostrp2p.nostr.keys import nip19_encode

from .fakes import FakeView, contact

OWNER = b"\x07" * 32
BOOT = ("203.0.113.5", 20000)


def facts(view, watch, now, **kw) -> Facts:
    return Facts(now=now, version="1.2.3", owner=OWNER, started_at=0.0, view=view, watch=watch,
                 store_ready=True, **kw)


class WarningsTests(SynchronousTestCase):
    def test_dead_bootstrap_is_named_with_how_long_the_server_has_been_alone(self):
        view = FakeView(bootstrap=[BOOT])
        watch = NetworkWatch(0.0)
        for now in range(0, 721, 5):
            watch.sample(view, float(now))
        status = build_status(facts(view, watch, 720.0))
        self.assertIn("no neighbours for 12 minutes: bootstrap 203.0.113.5:20000 does not answer",
                      status["warnings"][0])
        self.assertEqual(status["seconds_without_neighbours"], 720.0)
        self.assertEqual(status["bootstrap"]["addresses"],
                         [{"address": "203.0.113.5:20000", "answered": False}])

    def test_no_warning_while_joining(self):
        view = FakeView(bootstrap=[BOOT])
        watch = NetworkWatch(0.0)
        watch.sample(view, 10.0)
        self.assertEqual(build_status(facts(view, watch, 10.0))["warnings"], [])

    def test_a_bootstrap_that_answered_once_is_not_called_dead(self):
        watch = NetworkWatch(0.0)
        watch.sample(FakeView(bootstrap=[BOOT], neighbours=[contact(1, BOOT)],
                              sessions=[contact(1, BOOT)]), 5.0)
        alone = FakeView(bootstrap=[BOOT])
        watch.sample(alone, 10.0)
        status = build_status(facts(alone, watch, 200.0))
        self.assertTrue(status["bootstrap"]["addresses"][0]["answered"])
        self.assertIn("no neighbours for 3 minutes: the bootstrap servers answered before",
                      status["warnings"][0])
        self.assertNotIn("does not answer", status["warnings"][0])

    def test_without_bootstrap_status_says_what_to_do(self):
        view = FakeView()
        watch = NetworkWatch(0.0)
        self.assertEqual(build_status(facts(view, watch, 1.0))["warnings"], [NO_BOOTSTRAP_ADVICE])
        self.assertIn("--bootstrap HOST:PORT", NO_BOOTSTRAP_ADVICE)
        status = build_status(facts(view, watch, 3600.0))
        self.assertEqual(status["warnings"], [f"no neighbours for 1 hour: {NO_BOOTSTRAP_ADVICE}"])

    def test_neighbours_clear_the_alone_warning(self):
        view = FakeView(bootstrap=[BOOT], neighbours=[contact(1)])
        watch = NetworkWatch(0.0)
        watch.sample(view, 600.0)
        status = build_status(facts(view, watch, 600.0))
        self.assertEqual(status["warnings"], [])
        self.assertIsNone(status["seconds_without_neighbours"])

    def test_store_not_ready_and_symmetric_nat_are_said(self):
        view = FakeView(bootstrap=[BOOT], neighbours=[contact(1)], public=[("198.51.100.1", 4000)],
                        nat="endpoint-dependent")
        watch = NetworkWatch(0.0)
        watch.sample(view, 1.0)
        f = facts(view, watch, 1.0)
        f.store_ready = False
        warnings = build_status(f)["warnings"]
        self.assertEqual(len(warnings), 2)
        self.assertIn("event store is not ready", warnings[0])
        self.assertIn("through relays", warnings[1])


class DocumentTests(SynchronousTestCase):
    def test_identity_peers_and_failures(self):
        neighbour = contact(1, ("127.0.0.1", 4001), last_heard=98.0)
        relayed = contact(2, None, via=b"\x01" * 32)
        view = FakeView(bootstrap=[BOOT], neighbours=[neighbour], sessions=[neighbour],
                        relayed=[relayed], counters={"relayed": 7, "relayed_received": 3})
        watch = NetworkWatch(0.0)
        watch.sample(view, 100.0)
        failures = [(90.0, b"\x05" * 32, "Unreachable: no route"),
                    (95.0, b"\x06" * 32, "TimedOut: no answer")]
        status = build_status(facts(view, watch, 100.0, failures=failures, events_held=12,
                                    resend_queue=2, bootstrap_given=("boot.example.org:20000",)))
        self.assertEqual(status["owner_npub"], nip19_encode("npub", OWNER))
        self.assertEqual(status["binding"], "unbound")
        self.assertEqual(status["uptime_seconds"], 100.0)
        self.assertEqual(status["neighbours"][0]["owner_npub"], nip19_encode("npub", bytes([101]) * 32))
        self.assertEqual(status["neighbours"][0]["address"], "127.0.0.1:4001")
        self.assertEqual(status["neighbours"][0]["last_heard_seconds_ago"], 2.0)
        self.assertEqual(status["relayed"][0]["via"], (b"\x01" * 32).hex())
        self.assertEqual(status["relay"]["frames_passed_on"], 7)
        self.assertEqual(status["relay"]["frames_received_through_relays"], 3)
        self.assertEqual((status["events_held"], status["resend_queue"]), (12, 2))
        self.assertEqual(status["bootstrap"]["given"], ["boot.example.org:20000"])
        # newest first
        self.assertEqual([f["why"] for f in status["delivery_failures"]],
                         ["TimedOut: no answer", "Unreachable: no route"])
        self.assertEqual(status["delivery_failures"][0]["seconds_ago"], 5.0)


    def test_binding_state_and_expiry(self):
        from nostrp2p.binding.status import BindingStatus

        view, watch = FakeView(bootstrap=[BOOT]), NetworkWatch(0.0)
        bound = BindingStatus("bound", b"\x02" * 32, OWNER, expires_at=1_900_000_000, sequence=4)
        status = build_status(facts(view, watch, 10.0, binding=bound))
        self.assertEqual((status["binding"], status["binding_expires_at"]), ("bound", 1_900_000_000))
        status = build_status(facts(view, watch, 10.0))
        self.assertEqual((status["binding"], status["binding_expires_at"]), ("unbound", None))


class ReachabilityTests(SynchronousTestCase):
    def test_the_verdicts(self):
        self.assertEqual(reachability(FakeView()), "unknown")
        self.assertEqual(reachability(FakeView(public=[("198.51.100.1", 20000)],
                                               nat="endpoint-independent")), "direct")
        self.assertEqual(reachability(FakeView(public=[("198.51.100.1", 41234)],
                                               nat="endpoint-independent")), "hole-punching")
        self.assertEqual(reachability(FakeView(public=[("198.51.100.1", 41234)],
                                               nat="endpoint-dependent")), "relayed")


class InWordsTests(SynchronousTestCase):
    def test_units(self):
        self.assertEqual(in_words(1), "1 second")
        self.assertEqual(in_words(59.9), "59 seconds")
        self.assertEqual(in_words(60), "1 minute")
        self.assertEqual(in_words(12 * 60 + 30), "12 minutes")
        self.assertEqual(in_words(7200), "2 hours")
        self.assertEqual(in_words(86400 * 3), "3 days")
