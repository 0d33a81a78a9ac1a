"""NIP-01 filters with the mobile client's -1 and kind 40000 conventions."""

from twisted.trial.unittest import TestCase

from nostrp2p.nostr import EventError, filter_from_json, sign_event

A, B = b"\x01" * 32, b"\x02" * 32


def _event(secret, created_at, kind=1, tags=()):
    return sign_event(secret, created_at, kind, tags, "x")


class FilterTests(TestCase):
    def test_client_timeline_first_poll(self):
        f = filter_from_json({"kinds": [40000], "since": -1, "until": -1, "limit": 300})
        self.assertTrue(f.is_timeline)
        self.assertEqual((f.kinds, f.since, f.until, f.limit), (None, None, None, 300))
        self.assertTrue(f.matches(_event(A, 5, kind=7)))

    def test_period(self):
        f = filter_from_json({"kinds": [40000], "since": 10, "until": 20, "limit": -1})
        self.assertEqual([f.matches(_event(A, t)) for t in (9, 10, 20, 21)], [False, True, True, False])

    def test_ids_authors_kinds(self):
        ev = _event(A, 5)
        f = filter_from_json({"kinds": [1], "ids": [ev.id.hex()], "authors": [ev.pubkey.hex()]})
        self.assertTrue(f.matches(ev))
        self.assertFalse(f.matches(_event(A, 6)))
        self.assertFalse(filter_from_json({"kinds": [0]}).matches(ev))
        self.assertFalse(filter_from_json({"authors": ["00" * 32]}).matches(ev))

    def test_tag_filters(self):
        ev = _event(A, 5, tags=[["p", "cd" * 32], ["e", "ef" * 32]])
        self.assertTrue(filter_from_json({"#p": ["cd" * 32]}).matches(ev))
        self.assertTrue(filter_from_json({"#p": ["cd" * 32], "#e": ["ef" * 32, "x"]}).matches(ev))
        self.assertFalse(filter_from_json({"#p": ["cd" * 32], "#e": ["x"]}).matches(ev))

    def test_bad_filters_name_the_field(self):
        for obj, field in [([], "filter"), ({"kinds": "1"}, "kinds"), ({"ids": ["zz"]}, "ids[0]"),
                           ({"since": "yesterday"}, "since"), ({"limit": -2}, "limit"),
                           ({"#p": [1]}, "#p"), ({"authors": ["ab"] * 5000}, "authors")]:
            with self.assertRaises(EventError) as caught:
                filter_from_json(obj)
            self.assertEqual(caught.exception.field, field)
