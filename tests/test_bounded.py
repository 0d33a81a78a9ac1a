"""The shared bounded tables: a most-recent table forgets the least recently kept entry past its
bound, and a window budget allows so much per key per window over such a table."""

from twisted.trial.unittest import TestCase

from nostrp2p.bounded import RecentTable, WindowBudget


class RecentTableTests(TestCase):
    def test_the_least_recently_kept_or_looked_up_goes_first(self):
        forgotten = []
        table = RecentTable(3, on_forget=lambda key, value: forgotten.append((key, value)))
        for key in "abc":
            table.keep(key, key.upper())
        self.assertEqual(table.lookup("a"), "A")  # a is now the most recent
        table.keep("b", "B2")  # so is b, with its new value
        table.keep("d", "D")
        self.assertEqual(forgotten, [("c", "C")])
        self.assertEqual(list(table.items()), [("a", "A"), ("b", "B2"), ("d", "D")])
        self.assertEqual(table.oldest(), ("a", "A"))
        self.assertIsNone(table.lookup("c"))

    def test_never_holds_more_than_its_bound(self):
        table = RecentTable(100)
        for key in range(10_000):
            table.keep(key, None)
        self.assertEqual(list(table), list(range(9_900, 10_000)))
        self.assertIsNone(RecentTable(1).oldest())


class WindowBudgetTests(TestCase):
    def test_an_allowance_per_key_per_window(self):
        budget = WindowBudget(allowance=3, window=1.0, max_keys=10)
        self.assertEqual([budget.allow("a", 0.0) for _ in range(4)], [True, True, True, False])
        self.assertTrue(budget.allow("b", 0.5))  # keys are independent
        self.assertFalse(budget.allow("a", 0.9))
        self.assertTrue(budget.allow("a", 1.0))  # a new window
        self.assertFalse(budget.allow("a", 1.1, cost=3))

    def test_keys_are_bounded(self):
        budget = WindowBudget(allowance=1, window=60.0, max_keys=50)
        for key in range(1000):
            budget.allow(key, 0.0)
        self.assertEqual(len(budget), 50)
