"""Membership and broadcast in the simulator: views converge and stay bounded, every live server
gets every broadcast (with loss, duplication, reordering, crashes and partitions), and a server
that was briefly away catches up."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.sim import LinkModel
from tests.mesh.helpers import connected, grow


class MembershipTests(TestCase):
    def test_views_converge_bounded_and_connected(self):
        net, nodes = grow(40, seed=11)
        for address in nodes:
            node = net.node(address)
            self.assertTrue(1 <= len(node.membership.active) <= limits.ACTIVE_VIEW_MAX)
            self.assertLessEqual(len(node.membership.passive), limits.PASSIVE_VIEW_MAX)
            self.assertLessEqual(len(node.links.peers), limits.MAX_SESSIONS)
        self.assertTrue(connected(net, nodes))
        # Views are symmetric: if a holds b as a neighbour, b holds a.
        keys = {net.node(a).identity.public_key: a for a in nodes}
        for address in nodes:
            me = net.node(address).identity.public_key
            for overlay_key in net.node(address).membership.active:
                self.assertIn(me, net.node(keys[overlay_key]).membership.active)

    def test_joining_through_any_member_works(self):
        net, nodes = grow(10, seed=12, settle=10)
        late = net.add_node(bootstrap=[nodes[7]])
        net.run_for(10)
        self.assertTrue(net.node(late).peers())
        self.assertTrue(connected(net, nodes + [late]))

    def test_overlay_heals_after_a_fifth_of_the_nodes_crash(self):
        net, nodes = grow(40, seed=13)
        crashed = nodes[5:13]
        for address in crashed:
            net.crash(address)
        net.run_for(limits.PEER_TIMEOUT + 20)
        live = [a for a in nodes if a not in crashed]
        self.assertTrue(connected(net, live))
        mid = net.broadcast(live[3], b"after the crash")
        net.run_for(5)
        self.assertEqual(net.reached(mid), set(live))

    def test_partition_heals(self):
        net, nodes = grow(30, seed=14)
        left, right = nodes[:15], nodes[15:]
        net.partition([left, right])
        net.run_for(60)
        during = net.broadcast(left[0], b"left side only")
        net.run_for(5)
        self.assertEqual(net.reached(during), set(left))
        net.heal()
        net.run_for(120)
        self.assertTrue(connected(net, nodes))
        after = net.broadcast(right[0], b"whole network again")
        net.run_for(5)
        self.assertEqual(net.reached(after), set(nodes))

    def test_a_server_that_leaves_cleanly_is_dropped_at_once(self):
        net, nodes = grow(10, seed=15, settle=10)
        leaver = nodes[4]
        key = net.node(leaver).identity.public_key
        neighbours = [a for a in nodes if key in net.node(a).membership.active]
        self.assertTrue(neighbours)
        net.stop(leaver)
        net.run_for(1)  # far less than PEER_TIMEOUT
        for address in neighbours:
            self.assertNotIn(key, net.node(address).membership.active)

    def test_same_seed_same_run(self):
        def run():
            net, nodes = grow(15, seed=16, link=LinkModel(loss=0.05), settle=10)
            mid = net.broadcast(nodes[2], b"repeat")
            net.run_for(5)
            return net.datagrams_sent, sorted(net.deliveries[mid].items())

        self.assertEqual(run(), run())


class BroadcastTests(TestCase):
    def test_every_node_gets_every_broadcast_once_with_near_minimal_traffic(self):
        net, nodes = grow(30, seed=21)
        counts = {}
        for address in nodes:
            node = net.node(address)

            def counting(payload, origin, mid, via, a=address, recorded=node.on_broadcast):
                counts[a, mid] = counts.get((a, mid), 0) + 1
                recorded(payload, origin, mid, via)

            node.on_broadcast = counting
        origins = {}
        mids = []
        for k in range(30):
            source = nodes[k % len(nodes)]
            mid = net.broadcast(source, b"note %d" % k)
            origins[mid] = net.node(source).identity.owner_key
            mids.append(mid)
            net.run_for(1.0)
        net.run_for(5)
        for mid in mids:
            self.assertEqual(net.reached(mid), set(nodes))
        self.assertEqual(set(counts.values()), {1})
        before = net.total("payload_sent")
        for k in range(10):
            mids.append(net.broadcast(nodes[k], b"steady %d" % k))
            net.run_for(1.0)
        net.run_for(5)
        per_broadcast = (net.total("payload_sent") - before) / 10
        self.assertLessEqual(per_broadcast, 1.2 * (len(nodes) - 1))

    def test_delivery_reports_the_originating_owner_key(self):
        net, nodes = grow(5, seed=22, settle=5)
        got = []
        net.node(nodes[3]).on_broadcast = lambda payload, origin, mid, via: got.append((payload, origin))
        net.broadcast(nodes[1], b"hello")
        net.run_for(2)
        self.assertEqual(got, [(b"hello", net.node(nodes[1]).identity.owner_key)])

    def test_reaches_all_despite_loss_duplication_and_reordering(self):
        link = LinkModel(loss=0.05, duplicate=0.05, jitter=0.1)
        net, nodes = grow(30, seed=23, link=link)
        mids = [net.broadcast(nodes[k], b"lossy %d" % k) for k in range(0, 30, 3)]
        net.run_for(10)
        for mid in mids:
            self.assertEqual(net.reached(mid), set(nodes))

    def test_a_node_briefly_away_catches_up_on_return(self):
        net, nodes = grow(20, seed=24)
        away = nodes[9]
        net.crash(away)
        net.run_for(2)
        missed = [net.broadcast(nodes[k], b"while away %d" % k) for k in (1, 2, 3)]
        net.run_for(5)
        for mid in missed:
            self.assertNotIn(away, net.reached(mid))
        net.restart(away)
        net.run_for(10)
        for mid in missed:
            self.assertIn(away, net.reached(mid))


class DeadPeerTests(TestCase):
    def test_a_server_gone_for_good_is_retried_a_bounded_number_of_times(self):
        net, nodes = grow(6, seed=31, settle=10)
        gone = nodes[3]
        net.crash(gone)
        towards_gone = []
        net.taps.append(lambda src, dst, d: towards_gone.append(net.now) if dst == gone else None)
        net.run_for(limits.SUSPECT_ATTEMPTS * limits.SUSPECT_RETRY_INTERVAL * 4)
        self.assertTrue(towards_gone)  # it was retried (a partition would heal)...
        last = net.now
        net.run_for(600)
        self.assertEqual([t for t in towards_gone if t > last], [])  # ...and then forgotten


class LargeBroadcastTests(TestCase):
    def test_a_push_lost_on_a_servers_only_link_is_announced_and_grafted(self):
        # Two servers (a home network of two friends): each is the other's only neighbour, so
        # no lazy link announces what the eager push lost. The sender announces it on the
        # eager link too, and the receiver grafts it.
        net, nodes = grow(2, seed=43, settle=10)
        a, b = nodes
        got = []
        net.node(b).on_broadcast = lambda payload, origin, mid, via: got.append(payload)
        payloads = [b"one datagram", bytes(range(256)) * 160]  # the second in several parts
        net.block(a, b)  # every datagram of the push is lost
        for payload in payloads:
            net.broadcast(a, payload)
        net.unblock(a, b)
        net.run_for(10)
        self.assertEqual(sorted(got), sorted(payloads))
        self.assertGreater(net.node(b).stats["graft_sent"], 0)

    def test_payloads_of_many_parts_arrive_whole_once_everywhere_under_loss(self):
        net, nodes = grow(30, seed=42, link=LinkModel(loss=0.01, jitter=0.03, duplicate=0.01))
        got = {}
        for address in nodes:
            net.node(address).on_broadcast = (
                lambda payload, origin, mid, via, a=address: got.setdefault(a, []).append(payload))
        sizes = [1, limits.MAX_BROADCAST_PAYLOAD - 1, limits.MAX_BROADCAST_PAYLOAD, 40_000]
        payloads = [bytes([n + 1]) * size for n, size in enumerate(sizes)]
        for payload in payloads:
            net.broadcast(nodes[4], payload)
        net.run_for(30)
        for address in nodes:
            if address != nodes[4]:
                self.assertEqual(sorted(map(len, got.get(address, []))), sorted(sizes), address)
                self.assertEqual(sorted(got[address]), sorted(payloads))
