"""A follower takes no numbering on trust: posts that come before it knows its root's key wait
for it (bounded) and are checked then, so a parent cannot forge or renumber posts in that
window (docs/PROTOCOL.md "Posts and sequences")."""

from unittest import mock

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_messages as cm, limits
from nostrp2p.mesh.sim import LinkModel
from nostrp2p.mesh.sim.followers import Followers
from tests.mesh.helpers import grow

LOOKUP_DELAY = 15.0  # how long the victim's lookups of the author's server take


class RootKeyTests(TestCase):
    def setUp(self):
        # (The scenarios' seeds are ones whose trees have what the tests need, e.g. forwarders
        # that do not follow; any change of the overlay's traffic can move that.)
        self.net, self.nodes = grow(40, seed=11, link=LinkModel(loss=0.01, jitter=0.02),
                                    spacing=0.1, settle=30)
        self.f = Followers(self.net)
        self.author = self.nodes[7]
        self.owner = self.net.owner_of(self.author)
        self.by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        for address in self.nodes[10:30]:
            self.f.follow(address, self.owner)
        self.net.run_for(20)
        self.f.publish(self.author, b"earlier")
        self.net.run_for(5)

    def _slow_lookups(self, address):
        """``address``'s lookups of the author's server answer LOOKUP_DELAY late (a slow
        network), so that it joins through a forwarder and does not know the root's key yet."""
        router, host = self.net.node(address).router, self.net.hosts[address]
        locate = router.locate

        def slow(owner, now, done):
            def late(desc, _):
                def answer():
                    done(desc, self.net.now)
                    self.net._flush(host)
                self.net.call_later(LOOKUP_DELAY, answer)
            locate(owner, now, late)

        router.locate = slow

    def _victim(self):
        """A server that does not follow the author yet and whose join goes to a forwarder."""
        for address in self.nodes[30:]:
            channels = self.net.node(address).channels
            channel = channels.channels.get(self.owner)
            if channel is not None:
                continue
            probe = channels._channel(self.owner, self.net.now)
            candidates = channels._candidates(probe)
            channels.channels.pop(self.owner)
            if candidates and candidates[0].owner != self.owner:
                return address
        self.fail("no server joins through a forwarder")

    def _parent(self, address):
        channel = self.net.node(address).channels.channels[self.owner]
        return self.by_key[channel.parent.overlay_key]

    def _join_unknowing(self):
        victim = self._victim()
        self._slow_lookups(victim)
        self.f.follow(victim, self.owner)
        self.net.run_for(3)
        channel = self.net.node(victim).channels.channels[self.owner]
        self.assertIsNotNone(channel.parent)
        self.assertIsNone(channel.root_key)  # the window this is about
        return victim, self._parent(victim)

    def _to_child(self, source, victim, message):
        """``source`` sends its child ``victim`` a channel message of its own making."""
        channels = self.net.node(source).channels
        children = channels.channels[self.owner].children
        desc = channels._descriptor_of(children[self.net.node(victim).identity.public_key][0])
        channels._send(desc, message, self.net.now)
        self.net._flush(self.net.hosts[source])

    def test_a_parent_cannot_forge_a_new_epoch_before_the_root_key_is_known(self):
        victim, parent = self._join_unknowing()
        epoch = self.net.node(self.author).channels.epoch
        # The parent claims the root restarted: a new epoch, with a post of its making. Taken
        # on trust, the victim would drop every real post after it as "old".
        self._to_child(parent, victim, cm.Post(self.owner, epoch + 10 ** 9, 1, False, b"forged",
                                                bytes(64)))
        self.net.run_for(1)
        self.f.publish(self.author, b"real, while the key is looked up")
        self.net.run_for(LOOKUP_DELAY + 10)
        self.f.publish(self.author, b"real, after")
        self.net.run_for(20)
        self.assertFalse(self.f.got(victim, self.owner, b"forged"))
        for payload in (b"earlier", b"real, while the key is looked up", b"real, after"):
            self.assertTrue(self.f.got(victim, self.owner, payload), payload)
        stats = self.net.node(victim).stats
        self.assertGreater(stats["drop_channel_post_bad_proof"], 0)
        self.assertGreater(stats["channel_post_held"], 0)
        self.assertEqual(self.net.node(victim).channels.channels[self.owner].epoch, epoch)

    def test_a_parent_cannot_renumber_posts_before_the_root_key_is_known(self):
        victim, parent = self._join_unknowing()
        channels = self.net.node(parent).channels
        victim_key = self.net.node(victim).identity.public_key
        send_to_child, withheld = channels._send_to_child, []

        def renumbering(channel, desc, message, now):
            # The next post is withheld and later ones sent one number lower: no gap shows.
            post = cm.decode(message)
            if desc.overlay_key != victim_key or channel.author != self.owner:
                send_to_child(channel, desc, message, now)
            elif not withheld:
                withheld.append(post.seq)
            else:
                channels._send_raw(desc, cm.encode(post._replace(seq=post.seq - 1)), now)

        channels._send_to_child = renumbering
        channels._on_pull = lambda sender, message, now: channels._send(
            sender, cm.NotHeld(message.author, message.epoch, message.seqs), now)
        for k in range(3):
            self.f.publish(self.author, b"renumbered %d" % k)
            self.net.run_for(2)
        self.net.run_for(LOOKUP_DELAY + 30)
        for k in range(3):
            self.assertTrue(self.f.got(victim, self.owner, b"renumbered %d" % k), k)
        self.assertGreater(self.net.node(victim).stats["drop_channel_post_bad_proof"], 0)
        self.assertNotEqual(self._parent(victim), parent)  # it left the parent that lied

    def test_posts_wait_for_the_key_within_bounds(self):
        victim, parent = self._join_unknowing()
        with mock.patch.object(limits, "CHANNEL_UNCHECKED_POSTS", 2):
            for k in range(4):
                self.f.publish(self.author, b"burst %d" % k)
            self.net.run_for(1)
            channels = self.net.node(victim).channels
            self.assertLessEqual(len(channels.channels[self.owner].unchecked), 2)
            self.assertGreater(self.net.node(victim).stats["drop_channel_post_unchecked"], 0)
            self.net.run_for(LOOKUP_DELAY + 30)
        # Once the key is known, what was dropped is pulled again as a gap.
        for k in range(4):
            self.assertTrue(self.f.got(victim, self.owner, b"burst %d" % k), k)
        self.assertEqual(channels.unchecked_bytes, 0)

    def test_a_parents_unsigned_claim_of_a_new_epoch_does_not_hide_the_roots_posts(self):
        # ACCEPT and STATE carry (epoch, last seq) unsigned. A parent claiming a new epoch is
        # believed until a post of the root's says otherwise: a checked post of an older epoch,
        # while no post of the claimed one has come, wins over the claim.
        victim = next(a for a in self.nodes[10:30] if self._parent(a) != self.author)
        parent = self._parent(victim)
        epoch = self.net.node(self.author).channels.epoch
        self._to_child(parent, victim, cm.State(((self.owner, True, epoch + 10 ** 9, 3, None),)))
        self.net.run_for(10)
        self.assertEqual(self.net.node(victim).channels.channels[self.owner].epoch, epoch + 10 ** 9)
        self.f.publish(self.author, b"the root's own")
        self.net.run_for(10)
        self.assertTrue(self.f.got(victim, self.owner, b"the root's own"))
        self.assertEqual(self.net.node(victim).channels.channels[self.owner].epoch, epoch)
        self.assertGreater(self.net.node(victim).stats["channel_epoch_unproven"], 0)

    def test_posts_wait_while_the_root_is_not_found_and_are_taken_once_it_is(self):
        victim = self._victim()
        router = self.net.node(victim).router
        locate, until = router.locate, self.net.now + 20
        router.locate = lambda owner, now, done: (done(None, now) if now < until
                                                  else locate(owner, now, done))
        self.f.follow(victim, self.owner)
        self.net.run_for(3)
        self.f.publish(self.author, b"while not found")
        self.net.run_for(5)
        self.assertFalse(self.f.got(victim, self.owner, b"while not found"))
        self.assertGreater(self.net.node(victim).stats["channel_post_held"], 0)
        self.net.run_for(20)  # the root is looked for again meanwhile, and found
        self.assertTrue(self.f.got(victim, self.owner, b"while not found"))
        self.assertEqual(self.net.node(victim).stats["drop_channel_post_unchecked"], 0)
