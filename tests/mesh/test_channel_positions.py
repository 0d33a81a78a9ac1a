"""The channel positions file: what a server back from downtime asks for after. A missing or
damaged file means only a shorter catch-up, never a failure to start."""

import os
import tempfile

import msgpack
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_positions

A, B = b"a" * 32, b"b" * 32


class ChannelPositionsTests(TestCase):
    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "overlay.key.channels")

    def test_positions_saved_are_read_back(self):
        channel_positions.save(self.path, {A: (1_700_000_000_000, 42), B: (5, 0)})
        self.assertEqual(channel_positions.load(self.path), {A: (1_700_000_000_000, 42), B: (5, 0)})

    def test_no_file_is_no_positions(self):
        self.assertEqual(channel_positions.load(self.path), {})

    def test_a_damaged_file_is_no_positions_and_bad_entries_are_skipped(self):
        with open(self.path, "wb") as handle:
            handle.write(b"\xc1 not msgpack")
        self.assertEqual(channel_positions.load(self.path), {})
        with open(self.path, "wb") as handle:
            handle.write(msgpack.packb({A: [1, 2], b"short": [1, 2], B: [1, -2], b"c" * 32: "x"}))
        self.assertEqual(channel_positions.load(self.path), {A: (1, 2)})
