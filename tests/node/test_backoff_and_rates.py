"""Resend backoff (5 min x 2^n, n = 1..10) and bounded rate limiting."""

from twisted.trial.unittest import TestCase

from nostrp2p.node.backoff import next_retry_delay
from nostrp2p.node.ratelimit import RateLimiter


class BackoffTests(TestCase):
    def test_schedule_is_powers_of_two_then_drop(self):
        delays = [next_retry_delay(done) for done in range(11)]
        self.assertEqual(delays[:10], [300.0 * 2**n for n in range(1, 11)])
        self.assertIsNone(delays[10])
        self.assertAlmostEqual(delays[9] / 86400, 3.56, places=2)  # the last wait: ~3.5 days

    def test_base_is_a_setting(self):
        self.assertEqual(next_retry_delay(0, base=0.5), 1.0)
        self.assertIsNone(next_retry_delay(2, base=0.5, max_attempts=2))


class RateLimiterTests(TestCase):
    def test_burst_then_refill(self):
        limiter = RateLimiter(rate=3, per=60, max_keys=10)
        self.assertEqual([limiter.allow("a", 0) for _ in range(4)], [True, True, True, False])
        self.assertTrue(limiter.allow("b", 0))  # keys are independent
        self.assertFalse(limiter.allow("a", 10))  # 10 s refills half a token
        self.assertTrue(limiter.allow("a", 20))

    def test_table_is_bounded(self):
        limiter = RateLimiter(rate=1, per=60, max_keys=100)
        for key in range(10_000):
            limiter.allow(key, 0)
        self.assertEqual(len(limiter), 100)


class TakeManyTests(TestCase):
    def test_take_grants_what_the_budget_allows(self):
        limiter = RateLimiter(rate=10, per=60, max_keys=10)
        self.assertEqual(limiter.take("a", 0, 4), 4)
        self.assertEqual(limiter.take("a", 0, 10), 6)
        self.assertEqual(limiter.take("a", 0, 1), 0)
        self.assertFalse(limiter.allow("a", 0))
        self.assertEqual(limiter.take("a", 12, 5), 2)  # 12 s refill two tokens at 10 a minute
        self.assertEqual(limiter.take("b", 12, 0), 0)
