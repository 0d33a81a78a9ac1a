"""Broadcasts larger than one datagram: the payload of every GOSSIP starts with one byte, WHOLE
(the rest is the payload) or PART ([group id, index, count, chunk] in MessagePack). Each part is
a Plumtree message of its own, so the tree, grafts and catch-up work on parts unchanged; the
receiving server puts the parts together and delivers the payload upward once, whole."""

from __future__ import annotations

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.reassembly import Reassembly

WHOLE = 0
PART = 1


def split(payload: bytes, group_id: bytes) -> list[bytes]:
    """The GOSSIP payloads that carry ``payload``."""
    if len(payload) <= limits.MAX_BROADCAST_PAYLOAD - 1:
        return [bytes([WHOLE]) + payload]
    size = limits.MAX_BROADCAST_PART
    chunks = [payload[i:i + size] for i in range(0, len(payload), size)]
    return [bytes([PART]) + wire.pack([group_id, index, len(chunks), chunk])
            for index, chunk in enumerate(chunks)]


class Assembler:
    """Turns delivered GOSSIP payloads back into broadcast payloads."""

    def __init__(self, count):
        self.count = count
        self.parts = Reassembly(count, limits.MAX_BROADCAST_ASSEMBLIES,
                                limits.MAX_BROADCAST_ASSEMBLY_BYTES,
                                full="drop_broadcast_assembly_full",
                                timed_out="drop_broadcast_assembly_timeout")

    def take(self, gossip_payload: bytes, origin: bytes, now: float):
        """(payload, group id or None) once the payload is complete, else None (malformed parts
        are counted)."""
        if not gossip_payload:
            self.count("drop_malformed_broadcast")
            return None
        if gossip_payload[0] == WHOLE:
            return gossip_payload[1:], None
        self.parts.drop_started_by(now - limits.BROADCAST_ASSEMBLY_TIMEOUT)
        try:
            group, index, count, chunk = self._parse(gossip_payload)
            payload = self.parts.add((origin, group), index, count, chunk, now)
        except wire.MalformedFrame:
            self.count("drop_malformed_broadcast")
            return None
        return None if payload is None else (payload, group)

    @staticmethod
    def _parse(gossip_payload):
        if gossip_payload[0] != PART:
            raise wire.MalformedFrame("unknown broadcast framing")
        fields = wire.want_list(wire.unpack(gossip_payload[1:]), 4)
        if len(fields) != 4:
            raise wire.MalformedFrame("a broadcast part has 4 fields")
        most = limits.MAX_BROADCAST_MESSAGE // limits.MAX_BROADCAST_PART + 1
        group = wire.want_bytes(fields[0], 16)
        count = wire.want_int(fields[2], 2, most)
        index = wire.want_int(fields[1], 0, count - 1)
        chunk = wire.want_bytes(fields[3])
        if not chunk or len(chunk) > limits.MAX_BROADCAST_PART:
            raise wire.MalformedFrame("a broadcast part is 1..MAX_BROADCAST_PART bytes")
        return group, index, count, chunk
