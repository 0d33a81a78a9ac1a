"""The channel positions file: what a server back from downtime asks for after, and which
parent it asks first. A missing or damaged file means only a shorter catch-up or a join by the
route, never a failure to start."""

import os
import tempfile

import msgpack
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_positions
from nostrp2p.mesh.channel_positions import Kept
from nostrp2p.mesh.descriptor import Descriptor

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32
PARENT = Descriptor(b"k" * 32, b"o" * 32, "192.0.2.7", 7000)
PARENT6 = Descriptor(b"l" * 32, b"p" * 32, "2001:db8::1", 65535)


class ChannelPositionsTests(TestCase):
    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "overlay.key.channels")

    def test_positions_and_parents_saved_are_read_back(self):
        kept = {A: Kept((1_700_000_000_000, 42), PARENT, b"r" * 32), B: Kept((5, 0)),
                C: Kept(None, PARENT6), b"d" * 32: Kept(None, None, b"s" * 32)}
        channel_positions.save(self.path, kept)
        self.assertEqual(channel_positions.load(self.path), kept)

    def test_a_parent_is_kept_without_its_binding(self):
        bound = Descriptor(PARENT.overlay_key, PARENT.owner, PARENT.host, PARENT.port, b"proof")
        channel_positions.save(self.path, {A: Kept((1, 2), bound)})
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2), PARENT)})

    def test_a_file_of_an_earlier_version_reads_as_positions_without_parents(self):
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({A: [1_700_000_000_000, 42], B: [5, 0]}))
        self.assertEqual(channel_positions.load(self.path),
                         {A: Kept((1_700_000_000_000, 42)), B: Kept((5, 0))})

    def test_no_file_is_no_positions(self):
        self.assertEqual(channel_positions.load(self.path), {})

    def test_nothing_known_is_not_written(self):
        channel_positions.save(self.path, {A: Kept(None), B: Kept((3, 4))})
        self.assertEqual(channel_positions.load(self.path), {B: Kept((3, 4))})

    def test_a_damaged_file_is_no_positions_and_bad_entries_are_skipped(self):
        with open(self.path, "wb") as handle:
            handle.write(b"\xc1 not msgpack")
        self.assertEqual(channel_positions.load(self.path), {})
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({A: [1, 2], b"short": [1, 2], B: [1, -2], b"c" * 32: "x"}))
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2))})

    def test_a_parent_that_does_not_read_back_is_dropped_alone(self):
        fields = PARENT.encode()
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({
                A: [1, 2, fields[0], fields[1], "example.org", 7000],  # a name, not an address
                B: [3, 4, fields[0][:5], fields[1], fields[2], fields[3]],
                C: [0, 0, fields[0], fields[1], fields[2], 70000],  # and nothing else known
            }, use_bin_type=True))
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2)), B: Kept((3, 4))})

    def test_our_own_channels_children_are_read_back_beside_the_positions(self):
        children = [(PARENT, (PARENT6,)), (PARENT6, ())]
        channel_positions.save(self.path, {A: Kept((1, 2), PARENT)}, children)
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2), PARENT)})
        self.assertEqual(channel_positions.load_children(self.path), children)

    def test_a_file_without_children_or_with_damaged_ones_gives_what_reads_back(self):
        channel_positions.save(self.path, {A: Kept((1, 2))})
        self.assertEqual(channel_positions.load_children(self.path), [])
        good, bad = PARENT.encode(), PARENT.encode()[:3]
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({A: [1, 2], "children": [
                [good, [bad, PARENT6.encode()]], [bad, [good]], "x", [good]]}, use_bin_type=True))
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2))})
        self.assertEqual(channel_positions.load_children(self.path), [(PARENT, (PARENT6,))])

    def test_a_root_key_that_does_not_read_back_is_dropped_alone(self):
        fields = PARENT.encode()
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({A: [1, 2, b"short", *fields], B: [3, 4, "text"],
                                        C: [0, 0, 7]}, use_bin_type=True))
        self.assertEqual(channel_positions.load(self.path), {A: Kept((1, 2), PARENT), B: Kept((3, 4))})
