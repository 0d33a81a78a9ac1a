"""The root's log of its own posts, kept across restarts (mesh/root_log.py): a follower down
across its author's restart still gets every post it missed, and the restarted root goes on
with its numbering. A damaged file means a new numbering and one log line, never a failed start;
the file stays bounded, and a post costs an append, not a rewrite."""

import os
from unittest import mock

import msgpack
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, root_log
from nostrp2p.mesh.service import MeshService
from nostrp2p.mesh.sim import LinkModel
from nostrp2p.mesh.sim.followers import Followers
from tests.mesh.channel_trees import settle_until
from tests.mesh.helpers import grow

PROOF = b"p" * 64


class _Channels:
    """What ``attach`` gives a channel table: its ``restore`` call and the log to write to."""

    def __init__(self):
        self.restored = None
        self.root_log = None

    def restore(self, epoch, last_seq, posts):
        self.restored = (epoch, last_seq, list(posts))


class RootLogFileTests(TestCase):
    def _directory(self):
        directory = self.mktemp()
        os.makedirs(directory)
        return directory

    def setUp(self):
        self.path = os.path.join(self._directory(), "overlay.key.rootlog")
        self.lines = []

    def _attach(self):
        channels = _Channels()
        root_log.attach(channels, self.path, info=lambda line: self.lines.append(("info", line)),
                        warn=lambda line: self.lines.append(("warn", line)))
        return channels

    def _post(self, log, held, epoch, seq):
        held.append((seq, b"post %d" % seq, PROOF))
        log.kept(epoch, seq, held[-1][1], PROOF, lambda: list(held))

    def test_posts_kept_are_read_back_with_their_numbering(self):
        log, held = root_log.RootLog(self.path), []
        for seq in range(1, 6):
            self._post(log, held, 1234, seq)
        log.close()
        channels = self._attach()
        self.assertEqual(channels.restored, (1234, 5, held))
        self.assertEqual(self.lines[0][0], "info")

    def test_no_file_is_a_new_numbering_without_a_warning(self):
        channels = self._attach()
        self.assertEqual(channels.restored, (0, 0, []))
        self.assertEqual([level for level, _ in self.lines], ["info"])

    def test_a_damaged_file_is_a_new_numbering_and_one_warning(self):
        for junk in (b"\xc1 not msgpack", msgpack.packb(["something else", 1, 2, 3]),
                     msgpack.packb([root_log.MAGIC, 1, 5, 2]) + msgpack.packb([2, b"x", PROOF])
                     + msgpack.packb([2, b"the same sequence twice", PROOF]),
                     msgpack.packb([root_log.MAGIC, 1, 5, 2]) + msgpack.packb([3, b"x", b"short"]),
                     b""):
            with open(self.path, "wb") as handle:
                handle.write(junk)
            self.lines = []
            channels = self._attach()
            self.assertEqual(channels.restored, (0, 0, []), junk)
            self.assertEqual([level for level, _ in self.lines], ["warn"], junk)
            self.assertIn(self.path, self.lines[0][1])

    def test_a_record_cut_short_is_one_never_sent_and_the_rest_is_kept(self):
        log, held = root_log.RootLog(self.path), []
        for seq in range(1, 4):
            self._post(log, held, 77, seq)
        log.close()
        with open(self.path, "ab") as handle:
            handle.write(msgpack.packb([4, b"cut short" * 10, PROOF])[:20])
        self.assertEqual(root_log.load(self.path), root_log.Kept(77, 3, held))
        # The next post after the start writes the file anew: the torn record is gone.
        log = root_log.RootLog(self.path)
        self._post(log, held, 77, 4)
        log.close()
        self.assertEqual(root_log.load(self.path), root_log.Kept(77, 4, held))

    def test_a_post_is_an_append_and_the_file_stays_bounded(self):
        with mock.patch.object(limits, "CHANNEL_CATCH_UP_MAX", 10):
            log, held = root_log.RootLog(self.path), []
            sizes = []
            for seq in range(1, 60):
                self._post(log, held, 9, seq)
                del held[:-10]  # what the root holds
                sizes.append(os.path.getsize(self.path))
            # Between rewrites a post adds one record and writes nothing else.
            grew = [b - a for a, b in zip(sizes, sizes[1:]) if b > a]
            self.assertLessEqual(max(grew), len(msgpack.packb([59, b"post 59", PROOF])))
            self.assertLessEqual(max(sizes), 2 * 10 * 80 + 200)
            log.close()
            kept = root_log.load(self.path)
        self.assertEqual((kept.epoch, kept.last_seq, kept.posts), (9, 59, held))

    def test_a_file_that_cannot_be_written_is_one_warning_and_the_post_still_counts(self):
        directory = os.path.join(self._directory(), "gone")
        log = root_log.RootLog(os.path.join(directory, "overlay.key.rootlog"),
                               warn=lambda line: self.lines.append(line))
        for seq in range(1, 4):
            log.kept(3, seq, b"x", PROOF, lambda: [(seq, b"x", PROOF)])  # no exception
        self.assertEqual(len(self.lines), 1)
        self.assertIn("could not keep", self.lines[0])


SETTLE_LIMIT = 90.0  # simulated seconds a step of the restart scenario may take


class RootRestartSimTests(TestCase):
    """A simulated author's server crashes and comes back; its log was kept in a file."""

    def setUp(self):
        self.net, self.nodes = grow(30, seed=21, link=LinkModel(loss=0.01, jitter=0.02),
                                    spacing=0.1, settle=30)
        directory = self.mktemp()
        os.makedirs(directory)
        self.f = Followers(self.net, root_logs=directory)
        self.author = self.nodes[4]
        self.owner = self.net.owner_of(self.author)
        self.followers = [a for a in self.nodes if a != self.author][:12]
        for address in self.followers:
            self.f.follow(address, self.owner)
        self.net.run_for(20)

    def test_a_follower_down_across_its_authors_restart_gets_every_post_it_missed(self):
        away = self.followers[2]
        self.f.publish(self.author, b"before")
        self.assertTrue(settle_until(self.net, lambda: self.f.got(away, self.owner, b"before"),
                                     limit=SETTLE_LIMIT))
        self.net.crash(away)
        # More than the members keep (CHANNEL_LOG_POSTS): the oldest only the root holds.
        count = limits.CHANNEL_LOG_POSTS + 16
        for k in range(count):
            self.f.publish(self.author, b"while away %d" % k)
            self.net.run_for(0.3)
        root = self.net.node(self.author).channels
        epoch, last = root.epoch, root.channels[self.owner].last_seq
        self.net.run_for(5)
        self.net.crash(self.author)
        self.net.run_for(10)
        self.net.restart(self.author)
        root = self.net.node(self.author).channels
        self.assertEqual((root.epoch, root.channels[self.owner].last_seq), (epoch, last))
        self.net.restart(away)
        self.assertTrue(settle_until(
            self.net, lambda: all(self.f.got(away, self.owner, b"while away %d" % k)
                                  for k in range(count)), limit=SETTLE_LIMIT))
        # The oldest of them came from the restarted root's log, read back from its file.
        self.assertGreater(self.net.node(self.author).stats["channel_pull_answered"], 0)
        # The restarted root numbers on from where it was: a new post is no one's duplicate.
        self.assertEqual(self.f.publish(self.author, b"after the restart"), (epoch, last + 1))
        self.assertTrue(settle_until(self.net, lambda: all(
            self.f.got(a, self.owner, b"after the restart") for a in self.followers),
            limit=SETTLE_LIMIT))
        self.assertEqual(self.net.total("channel_post_old_epoch"), 0)


class ServiceRestartTests(TestCase):
    @defer.inlineCallbacks
    def test_a_restarted_server_keeps_its_numbering_and_its_posts(self):
        directory = self.mktemp()
        os.makedirs(directory)
        key_path, owner = os.path.join(directory, "overlay.key"), b"o" * 32
        first = MeshService(("127.0.0.1", 0), key_path, owner, [], reactor)
        first.startService()
        first.publish_to_followers(b"one")
        first.publish_to_followers(b"two")
        epoch = first.node.channels.epoch
        yield first.stopService()
        again = MeshService(("127.0.0.1", 0), key_path, owner, [], reactor)
        again.startService()
        self.addCleanup(again.stopService)
        channels = again.node.channels
        self.assertEqual(channels.epoch, epoch)
        self.assertEqual(list(channels.channels[owner].log.items()), [(1, b"one"), (2, b"two")])
        self.assertEqual(channels.publish(b"three", reactor.seconds()), (epoch, 3))
