"""The binding source the overlay core is given: our own binding packed as it travels, others'
verified (once, through the cache) and ranked as Binding.supersedes orders them, refusals
given to the core as ClaimRefused with the reason."""

from twisted.trial.unittest import TestCase

from nostrp2p.binding.overlay_source import OverlayBindings, binding_rank
from nostrp2p.mesh.claims import ClaimRefused
from nostrp2p.nostr import KeyPair
from nostrp2p.nostr.binding import make_binding, pack_binding

OWNER = KeyPair.from_secret(b"\x01" * 32)
OVERLAY = b"\x02" * 32
NOW = 1_800_000_000


def binding(sequence=1, created_at=NOW, overlay=OVERLAY, expires_at=NOW + 3600, content=""):
    return make_binding(OWNER.secret, overlay, sequence, expires_at, created_at, content)


class OverlayBindingsTests(TestCase):
    def test_our_own_binding_is_packed_as_it_travels_and_none_while_unbound(self):
        current = [None]
        source = OverlayBindings(lambda: current[0])
        self.assertIsNone(source.own())
        current[0] = binding()
        self.assertEqual(source.own(), pack_binding(current[0]))
        current[0] = binding(sequence=2)  # a binding published while the server runs
        self.assertEqual(source.own(), pack_binding(current[0]))

    def test_a_binding_is_verified_once_and_ranked_as_supersedes_orders_them(self):
        source = OverlayBindings(lambda: None)
        older, newer = binding(sequence=1), binding(sequence=2, created_at=NOW - 10)
        rank, expires_at = source.verify(pack_binding(older), OVERLAY, OWNER.public, NOW)
        self.assertEqual(expires_at, NOW + 3600)
        self.assertGreater(source.verify(pack_binding(newer), OVERLAY, OWNER.public, NOW)[0], rank)
        source.verify(pack_binding(older), OVERLAY, OWNER.public, NOW)
        self.assertEqual(source.cache.verifications, 2)
        twins = [binding(content=str(i)) for i in range(6)]  # equal seq and created_at
        by_rank = max(twins, key=binding_rank)
        self.assertTrue(all(by_rank.supersedes(t) for t in twins if t is not by_rank))

    def test_a_binding_for_another_claim_is_refused_with_the_reason(self):
        source = OverlayBindings(lambda: None)
        blob = pack_binding(binding())
        cases = {
            "another overlay key": (blob, b"\x03" * 32, OWNER.public, NOW),
            "not by the owner": (blob, OVERLAY, b"\x04" * 32, NOW),
            "expired": (blob, OVERLAY, OWNER.public, NOW + 3600),
            "not a packed binding": (b"\x93junk", OVERLAY, OWNER.public, NOW),
        }
        for reason, args in cases.items():
            with self.assertRaises(ClaimRefused, msg=reason) as refused:
                source.verify(*args)
            self.assertTrue(str(refused.exception), reason)
