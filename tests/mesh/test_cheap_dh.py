"""The simulation-only stand-in for X25519 (nostrp2p/mesh/sim/cheap_dh.py, bench/followers.py
--cheap-dh): a network run with it does exactly what it does with the real products, datagram
for datagram, and the real products are back once the run is over."""

import random

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto
from nostrp2p.mesh.sim import LinkModel, cheap_dh
from nostrp2p.mesh.sim.converged import grow_converged
from nostrp2p.mesh.sim.converged_trees import build_trees
from nostrp2p.mesh.sim.followers import Followers


def _run():
    """A small lossy network with follower trees, a crash and return, and posts: what a
    benchmark run measures, and every handshake it makes."""
    net, nodes = grow_converged(40, seed=5, link=LinkModel(loss=0.02))
    followers = Followers(net)
    author, away = nodes[0], nodes[7]
    owner = net.owner_of(author)
    for fan in nodes[1:30]:
        followers.follows[fan].add(owner)
    build_trees(net, followers.follows, random.Random(2))
    net.run_for(10)
    net.crash(away)
    followers.publish(author, b"while away")
    net.run_for(5)
    net.restart(away)
    net.run_for(20)
    followers.publish(author, b"back")
    net.run_for(10)
    got = sorted(a for a in nodes[1:30] if followers.got(a, owner, b"while away")
                 and followers.got(a, owner, b"back"))
    return got, [(net.hosts[a].stats()["control_sent"], net.hosts[a].stats()["sessions_established"])
                 for a in nodes]


class CheapDhTests(TestCase):
    def test_a_run_with_it_sends_the_same_datagrams_and_delivers_the_same_posts(self):
        real = _run()
        with cheap_dh.installed():
            cheap = _run()
        self.assertEqual(len(real[0]), 29)  # every follower, the one back from a crash too
        self.assertGreater(sum(sessions for _, sessions in real[1]), 100)
        self.assertEqual(cheap, real)

    def test_the_real_products_are_back_after_the_run(self):
        secret, other = bytes(range(32)), bytes(range(1, 33))
        real_public = crypto.public_key(secret)
        real_shared = crypto._dh(secret, crypto.public_key(other))
        with cheap_dh.installed():
            cheap_shared = crypto._dh(secret, crypto.public_key(other))
            self.assertEqual(crypto.public_key(secret), real_public)  # public keys stay real
            self.assertEqual(cheap_shared, crypto._dh(other, real_public))  # both sides agree
        self.assertNotEqual(cheap_shared, real_shared)
        self.assertEqual(crypto.public_key(secret), real_public)
        self.assertEqual(crypto._dh(secret, crypto.public_key(other)), real_shared)
