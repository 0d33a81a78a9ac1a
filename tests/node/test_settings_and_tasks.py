"""Node settings refuse nonsense; work in progress is bounded."""

from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from nostrp2p.node.node import NodeSettings
from nostrp2p.node.tasks import TaskSet


class SettingsTests(TestCase):
    def test_defaults_are_the_seeds(self):
        settings = NodeSettings()
        self.assertEqual((settings.resend_base_seconds, settings.resend_attempts), (300.0, 10))

    def test_nonsense_is_refused_with_the_settings_name(self):
        for name, value in [("resend_base_seconds", 0), ("resend_check_seconds", -1),
                            ("resend_attempts", -1), ("share_repeat_seconds", "soon"),
                            ("peer_events_per_minute", True)]:
            with self.assertRaises(ValueError) as caught:
                NodeSettings(**{name: value})
            self.assertIn(name, str(caught.exception))
        self.assertEqual(NodeSettings(resend_attempts=0).resend_attempts, 0)


class TaskSetTests(TestCase):
    def test_work_past_the_bound_is_dropped_and_counted(self):
        tasks = TaskSet(max_tasks=2)
        blockers = [Deferred() for _ in range(3)]
        started = [tasks.run(blocker, "wait") for blocker in blockers]
        self.assertIsNone(started[2])
        self.assertEqual((len(tasks), tasks.counters["busy_dropped"]), (2, 1))

        async def never_run():
            raise AssertionError("a dropped coroutine must not run")
        self.assertIsNone(tasks.run(never_run(), "dropped"))

        settled = tasks.settled()
        self.assertFalse(settled.called)
        blockers[0].callback("done")
        self.assertEqual(self.successResultOf(started[0]), "done")
        self.assertFalse(settled.called)
        blockers[1].callback(None)
        self.assertTrue(settled.called)
        self.assertEqual(len(tasks), 0)

    def test_a_failing_job_is_logged_and_does_not_fail_its_caller(self):
        tasks = TaskSet(max_tasks=2)

        async def broken():
            raise ZeroDivisionError("a bug")
        self.assertIsNone(self.successResultOf(tasks.run(broken(), "broken")))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
