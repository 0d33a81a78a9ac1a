"""The routing table's nearest contacts: read bucket by bucket, they must be exactly those a
full ranking of every contact by XOR distance gives, in the same order (lookups, channel joins
and FIND answers all rest on them)."""

import random

from twisted.trial.unittest import TestCase

from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.routing import RoutingTable


def ranked(table, target, count, exclude):
    contacts = [(rid ^ target, desc) for bucket in table.buckets.values()
                for desc, rid, _ in bucket.values() if desc.overlay_key not in exclude]
    contacts.sort(key=lambda entry: entry[0])
    return [desc for _, desc in contacts[:count]]


class ClosestTests(TestCase):
    def test_nearest_contacts_are_those_of_a_full_ranking(self):
        rng = random.Random(7)
        for size in (0, 1, 5, 40, 300, 2000):
            table = RoutingTable(rng.randbytes(32))
            for _ in range(size):
                table.add(Descriptor(rng.randbytes(32), rng.randbytes(32), "10.0.0.1", 7000), 0.0)
            keys = [d.overlay_key for b in table.buckets.values() for d, _, _ in b.values()]
            for trial in range(60):
                # Random targets, our own id, and the ids of contacts themselves.
                if trial == 0:
                    target = table.own
                elif trial % 3 == 0 and keys:
                    target = next(rid for b in table.buckets.values() for d, rid, _ in b.values()
                                  if d.overlay_key == keys[trial % len(keys)])
                else:
                    target = rng.getrandbits(256)
                count = rng.choice((1, 3, 8, 16, 5000))
                exclude = set(rng.sample(keys, min(len(keys), trial % 4)))
                self.assertEqual(table.closest(target, count, exclude),
                                 ranked(table, target, count, exclude), (size, trial))
