"""Channel messages: every type round-trips; every malformed shape is refused."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_messages as cm, limits, wire
from nostrp2p.mesh.descriptor import Descriptor

A = b"a" * 32
D = Descriptor(b"k" * 32, b"o" * 32, "127.0.0.1", 7000)

SAMPLES = [
    cm.Join(A, 0), cm.Join(A, 1, 3), cm.Accept(A, 1_700_000_000_000, 5, (b"p" * 32,)), cm.Redirect(A, D, 1), cm.Refuse(A),
    cm.Leave(A), cm.Post(A, 7, 1, False, b"event", b"s" * 64),
    cm.Heartbeat(((A, 7, 3, None, 0, None), (A, 7, 3, (D,), 99, cm.Shape(2, 1, D)),
                  (A, 7, 3, None, 5, cm.Shape(0, 0, None)))),
    cm.State(((A, True, 7, 4, None), (A, True, 7, 4, (b"p" * 32, A)))), cm.Pull(A, 7, (1, 2)), cm.NotHeld(A, 7, (2,)),
    cm.Check(A, b"p" * 32, 7, 4),
]

MALFORMED = {
    "empty": b"",
    "not msgpack": b"\xc1",
    "not an array": wire.pack({"a": 1}),
    "unknown type": wire.pack([99, A]),
    "short key": wire.pack([cm.JOIN, b"a" * 31, 0]),
    "too many redirects": wire.pack([cm.JOIN, A, limits.CHANNEL_MAX_REDIRECTS + 1]),
    "join height beyond any path": wire.pack([cm.JOIN, A, 0, limits.CHANNEL_PATH_MAX + 1]),
    "join long": wire.pack([cm.JOIN, A, 0, 1, 0]),
    "join short": wire.pack([cm.JOIN, A]),
    "missing field": wire.pack([cm.ACCEPT, A, 1, 1]),
    "path too long": wire.pack([cm.ACCEPT, A, 1, 1, [A] * (limits.CHANNEL_PATH_MAX + 1)]),
    "extra field": wire.pack([cm.LEAVE, A, 1]),
    "sequence zero": wire.pack([cm.POST, A, 1, 0, False, b"", b"s" * 64]),
    "repair not a boolean": wire.pack([cm.POST, A, 1, 1, 1, b"", b"s" * 64]),
    "post without proof": wire.pack([cm.POST, A, 1, 1, False, b""]),
    "proof short": wire.pack([cm.POST, A, 1, 1, False, b"", b"s" * 63]),
    "negative epoch": wire.pack([cm.PULL, A, -1, [1]]),
    "too many pulled": wire.pack([cm.PULL, A, 1, list(range(1, limits.CHANNEL_PULL_MAX + 2))]),
    "heartbeat entry short": wire.pack([cm.HEARTBEAT, [[A, 1, 1, None]]]),
    "heartbeat children not a list": wire.pack([cm.HEARTBEAT, [[A, 1, 1, 5, 0]]]),
    "heartbeat too many children": wire.pack(
        [cm.HEARTBEAT, [[A, 1, 1, [D.encode()] * (limits.CHANNEL_CHILDREN_MAX + 1), 0]]]),
    "heartbeat path tag negative": wire.pack([cm.HEARTBEAT, [[A, 1, 1, None, -1]]]),
    "heartbeat shape short": wire.pack([cm.HEARTBEAT, [[A, 1, 1, None, 0, [1, 0]]]]),
    "heartbeat shape beyond any path": wire.pack(
        [cm.HEARTBEAT, [[A, 1, 1, None, 0, [limits.CHANNEL_PATH_MAX + 1, 0, None]]]]),
    "heartbeat entry long": wire.pack([cm.HEARTBEAT, [[A, 1, 1, None, 0, [1, 0, None], 0]]]),
    "check short parent": wire.pack([cm.CHECK, A, b"p"]),
    "state member not a boolean": wire.pack([cm.STATE, [[A, 1, 1, 1, None]]]),
    "state path not keys": wire.pack([cm.STATE, [[A, True, 1, 1, [b"x"]]]]),
    "redirect to a named host": wire.pack([cm.REDIRECT, A, [b"k" * 32, b"o" * 32, "example.org", 1], 0]),
}


class ChannelMessageTests(TestCase):
    def test_every_type_round_trips(self):
        self.assertEqual(len({type(s) for s in SAMPLES}), 11)
        for sample in SAMPLES:
            self.assertEqual(cm.decode(cm.encode(sample)), sample)

    def test_a_join_without_a_subtree_is_sent_as_servers_without_heights_read_it(self):
        self.assertEqual(cm.encode(cm.Join(A, 2)), wire.pack([cm.JOIN, A, 2]))

    def test_each_malformed_shape_is_refused(self):
        for what, payload in MALFORMED.items():
            with self.assertRaises(wire.MalformedFrame, msg=what):
                cm.decode(payload)
