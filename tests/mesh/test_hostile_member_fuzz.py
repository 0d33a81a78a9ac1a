"""Overlay fuzz from inside a session: a member whose session with the victim is established
(authenticated, encrypted, as any neighbour's) sends every inner message type with malformed
and hostile fields: hostnames where IP literals go, huge, negative and fractional numbers,
wrong types and lengths, unknown ids and keys, nested junk, missing and extra fields, unknown
type numbers. Each malformed one is counted as dropped, no handler fails, and afterwards the
victim's periodic timers still fire, its timer queue is its usual size, and it delivers
broadcasts and unicasts both ways."""

import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import messages as m, wire
from nostrp2p.mesh.sim.hostile import send_raw
from tests.mesh.helpers import grow

_rng = random.Random(7)
KEY = bytes(range(32))
OTHER_KEY = bytes(_rng.randbytes(32))
MID = bytes(range(16))
FITS_ONE_DATAGRAM = 1000  # bytes of inner message (the session adds its header and tag)


def _descriptor(host="10.0.0.200", port=7000, key=OTHER_KEY, owner=KEY):
    return [key, owner, host, port]


def _templates(victim_key, victim_owner, hostile_key):
    """A well-formed array for every message type: the starting point of each mutation (the
    decoder table is the list of types, so a type added later is fuzzed too)."""
    payload, salt = b"hostile", bytes(m.GOSSIP_SALT_SIZE)
    datagram = bytes((wire.MAGIC, wire.FRAME_DATA)) + bytes(40)  # what a relay carries: sealed
    fields = {
        m.Claim: [b"a binding", True],
        m.ForwardJoin: [_descriptor(), 3],
        m.Neighbor: [True],
        m.NeighborReply: [True],
        m.Shuffle: [None, 2, [_descriptor(), _descriptor("::1", 9)]],
        m.ShuffleReply: [[_descriptor()]],
        m.Gossip: [m.gossip_id(KEY, salt, payload), KEY, salt, 0, payload],
        m.IHave: [[MID]],
        m.Graft: [MID],
        m.Find: [7, victim_owner, [_descriptor()]],
        m.Found: [7, [_descriptor()], [_descriptor()]],
        m.Fragment: [MID, 0, 1, m.KIND_MESSAGE, None, b"chunk"],
        m.FragmentAck: [MID, 0],
        m.Relay: [OTHER_KEY, KEY, 2, [hostile_key], KEY, datagram],
        m.Relayed: [OTHER_KEY, KEY, datagram],
        m.RelayRefused: [OTHER_KEY],
        m.YouAre: ["10.0.0.201", 7000],
        m.PunchRequest: [victim_key],
        m.Punch: [OTHER_KEY, KEY, "10.0.0.202", 7000],
    }
    templates = {}
    for type_number, cls in m.types().items():
        templates[type_number] = [type_number, *fields.get(cls, [])]
        if len(templates[type_number]) - 1 < cls._least:
            raise AssertionError(f"no well-formed template for {cls.__name__}")
    return templates


_deep = []
for _ in range(40):
    _deep = [_deep]

# Wrong in every field of every message, whatever the field: hostnames and broken addresses
# where the only strings are hosts (IP literals), fractions, maps, junk nested 40 deep, numbers
# below every range.
ALWAYS_MALFORMED = [
    "evil.example", "localhost", "10.0.0.1.5", "::1%", "a" * 300, "", 1.5, float("nan"),
    {"a": 1}, {"host": "10.0.0.1"}, _deep, -2 ** 63, -1,
]
HOSTILE_VALUES = ALWAYS_MALFORMED + [
    None, True, False, 0, 2 ** 64 - 1, 2 ** 32, 65536, "é",
    b"", b"\x00" * 15, b"\x00" * 17, b"\x00" * 33, b"\xff" * 700,
    [], [[]], [None] * 9, list(range(200)),
    _descriptor("evil.example"), _descriptor("localhost", 7000), _descriptor(port=2 ** 40),
    _descriptor(port=-1), _descriptor(key=b"short"), _descriptor()[:3], _descriptor() + [1],
    [_descriptor("evil.example")], [_descriptor()] * 12, [_descriptor(host=7)],
    [wire.MSG_UNICAST, MID, 0, 1, 0, None, b"x"], [wire.MSG_GOSSIP], [99, MID], [MID] * 45,
]


@st.composite
def hostile_arrays(draw, templates):
    """(array, surely malformed): a template with one hostile change: a field replaced, a nested
    field replaced, fields missing or extra, the type unknown; or left well-formed with unknown
    ids. Surely malformed: by construction, whatever the decoder says."""
    values = list(draw(st.sampled_from(sorted(templates.values()))))
    change = draw(st.sampled_from(["field", "nested", "extra", "missing", "type", "ids"]))
    surely = change in ("extra", "type")
    junk = st.sampled_from(HOSTILE_VALUES) | st.integers(-2 ** 63, 2 ** 64 - 1) | st.binary(max_size=40) \
        | st.text(max_size=20)
    if change == "field" and len(values) > 1:
        value = values[draw(st.integers(1, len(values) - 1))] = draw(junk)
        surely = _always_malformed(value)
    elif change == "nested" and any(isinstance(v, list) and v for v in values[1:]):
        at = draw(st.sampled_from([i for i, v in enumerate(values) if i and isinstance(v, list) and v]))
        inner = values[at] = list(values[at])
        value = inner[draw(st.integers(0, len(inner) - 1))] = draw(junk)
        surely = _always_malformed(value)
    elif change == "extra":  # (every template has all its fields, optional ones too)
        values += draw(st.lists(junk, min_size=1, max_size=3))
    elif change == "missing" and len(values) > 1:
        del values[draw(st.integers(1, len(values) - 1)):]
    elif change == "type":
        values[0] = draw(st.sampled_from([0, 8, 19, 99, 255, 2 ** 40, -1, "GOSSIP", None]))
    else:  # well-formed: unknown lookup ids, message ids, keys
        values = [values[0]] + [_unknown(draw, v) for v in values[1:]]
    assume(len(wire.pack(values)) <= FITS_ONE_DATAGRAM)  # what a session can carry at all
    return values, surely


def _always_malformed(value) -> bool:
    return any(value is bad or (type(value) is type(bad) and value == bad) for bad in ALWAYS_MALFORMED)


def _unknown(draw, value):
    if type(value) is bytes and len(value) in (16, 32):
        return draw(st.binary(min_size=len(value), max_size=len(value)))
    if type(value) is int and value == 7:  # a lookup id
        return draw(st.integers(0, 0xFFFFFFFF))
    return value


def _well_formed(values) -> bool:
    try:
        m.decode(wire.pack(values))
    except wire.MalformedFrame:
        return False
    return True


def _short(values) -> str:
    text = repr(values)
    return text if len(text) < 400 else text[:400] + "..."


def _dropped(node) -> int:
    return node.stats["drop_malformed"] + node.stats["drop_unknown_message_type"]


class HostileMemberFuzzTests(TestCase):
    def test_hostile_fields_from_inside_a_session_are_dropped_and_the_victim_goes_on(self):
        net, nodes = grow(6, seed=71, settle=20)
        victim_address = nodes[0]
        victim = net.node(victim_address)
        hostile_address = next(a for a in nodes[1:]
                               if net.node(a).identity.public_key in victim.membership.active)
        hostile = net.node(hostile_address)
        victim_key, hostile_key = victim.identity.public_key, hostile.identity.public_key
        templates = _templates(victim_key, victim.identity.owner_key, hostile_key)
        templates.pop(wire.MSG_CLOSE)  # a well-formed CLOSE ends the session (fuzzed below)
        templates[-wire.MSG_CLOSE] = [wire.MSG_CLOSE, None]  # ...as a malformed one only
        timers_before = len(victim.timers)
        sent = {"malformed": 0, "well-formed": 0}
        types_sent = set()

        @settings(max_examples=500, deadline=None, database=None, report_multiple_bugs=False,
                  derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(hostile_arrays(templates))
        def one(drawn):
            values, surely_malformed = drawn
            if values[0] == wire.MSG_CLOSE and _well_formed(values):
                values = values + [None]  # see above: only malformed CLOSEs
            session = victim.links.peers.get(hostile_key)
            if session is None or session.current is None:
                send_raw(net, hostile_address, victim_key, m.Ping().encode())  # handshakes again
                net.run_for(2)
            malformed = not _well_formed(values)
            if surely_malformed:
                self.assertTrue(malformed, f"the decoder took {_short(values)}")
            before, too_big = _dropped(victim), hostile.stats["drop_out_oversize"]
            send_raw(net, hostile_address, victim_key, values)
            net.run_for(0.3)
            self.assertEqual(hostile.stats["drop_out_oversize"], too_big)  # it went out
            if malformed:
                self.assertEqual(_dropped(victim) - before, 1, f"not counted: {_short(values)}")
            sent["malformed" if malformed else "well-formed"] += 1
            types_sent.add(values[0])
            self.assertEqual(victim.stats["handler_failed"], 0, f"a handler failed on {_short(values)}")
            self.assertEqual(victim.stats["timer_failed"], 0, f"a timer failed after {_short(values)}")

        one()
        self.assertGreater(sent["malformed"], 250)
        self.assertGreater(sent["well-formed"], 40)
        self.assertTrue(set(m.types()) <= types_sent | {wire.MSG_CLOSE})

        # Its periodic timers still fire: maintenance, the link sweep and the shuffle each
        # re-arm themselves with what we wrap here, so the wrappers run only if the chains live.
        fired = {"maintain": 0, "sweep": 0, "shuffle": 0}

        def counting(name, fn):
            def wrapper(now):
                fired[name] += 1
                return fn(now)
            return wrapper

        victim.membership._maintain = counting("maintain", victim.membership._maintain)
        victim._sweep = counting("sweep", victim._sweep)
        victim.membership._shuffle = counting("shuffle", victim.membership._shuffle)
        net.run_for(100)
        self.assertGreater(fired["maintain"], 30)
        self.assertGreater(fired["sweep"], 60)
        self.assertGreater(fired["shuffle"], 0)
        self.assertEqual((victim.stats["handler_failed"], victim.stats["timer_failed"]), (0, 0))
        self.assertLess(len(victim.timers), timers_before + 100)

        # ...and it delivers broadcasts and unicasts both ways.
        for origin in (victim_address, nodes[-1]):
            mid = net.broadcast(origin, b"after the fuzz")
            net.run_for(5)
            self.assertEqual(net.reached(mid), set(nodes))
        there = net.unicast(nodes[-1], net.owner_of(victim_address), b"to the victim")
        back = net.request(victim_address, net.owner_of(nodes[-1]), b"from the victim")
        net.run_for(20)
        self.assertIsNone(there.error)
        self.assertEqual((back.error, back.result), (None, b"re:from the victim"))
