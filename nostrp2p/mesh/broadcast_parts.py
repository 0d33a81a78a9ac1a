"""Broadcasts larger than one datagram: the payload of every GOSSIP starts with one byte, WHOLE
(the rest is the payload) or PART ([group id, index, count, chunk] in MessagePack). Each part is
a Plumtree message of its own, so the tree, grafts and catch-up work on parts unchanged; the
receiving server puts the parts together and delivers the payload upward once, whole."""

from __future__ import annotations

import collections

from nostrp2p.mesh import limits, wire

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


class _Assembly:
    __slots__ = ("count", "chunks", "size", "started")

    def __init__(self, count, now):
        self.count = count
        self.chunks: dict[int, bytes] = {}
        self.size = 0
        self.started = now


class Assembler:
    """Turns delivered GOSSIP payloads back into broadcast payloads."""

    def __init__(self, node):
        self.node = node
        self.assemblies: collections.OrderedDict[tuple, _Assembly] = collections.OrderedDict()
        self.bytes = 0

    def take(self, gossip_payload: bytes, origin: bytes, now: float):
        """(payload, group id or None) once the payload is complete, else None (malformed parts
        are counted)."""
        if not gossip_payload:
            self.node.count("drop_malformed_broadcast")
            return None
        if gossip_payload[0] == WHOLE:
            return gossip_payload[1:], None
        try:
            group, index, count, chunk = self._parse(gossip_payload)
        except wire.MalformedFrame:
            self.node.count("drop_malformed_broadcast")
            return None
        self._expire(now)
        key = (origin, group)
        assembly = self.assemblies.get(key)
        if assembly is None:
            assembly = self.assemblies[key] = _Assembly(count, now)
        elif assembly.count != count:
            self.node.count("drop_malformed_broadcast")
            return None
        if index not in assembly.chunks:
            assembly.chunks[index] = chunk
            assembly.size += len(chunk)
            self.bytes += len(chunk)
        if len(assembly.chunks) == assembly.count:
            del self.assemblies[key]
            self.bytes -= assembly.size
            return b"".join(assembly.chunks[i] for i in range(assembly.count)), group
        self._bound(key)
        return None

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

    def _bound(self, keep):
        while (len(self.assemblies) > limits.MAX_BROADCAST_ASSEMBLIES
               or self.bytes > limits.MAX_BROADCAST_ASSEMBLY_BYTES):
            key = next(iter(self.assemblies))
            if key == keep and len(self.assemblies) == 1:
                key = keep
            elif key == keep:
                key = next(k for k in self.assemblies if k != keep)
            self.bytes -= self.assemblies.pop(key).size
            self.node.count("drop_broadcast_assembly_full")
            if key == keep:
                return

    def _expire(self, now):
        while self.assemblies:
            key, assembly = next(iter(self.assemblies.items()))
            if now - assembly.started < limits.BROADCAST_ASSEMBLY_TIMEOUT:
                return
            del self.assemblies[key]
            self.bytes -= assembly.size
            self.node.count("drop_broadcast_assembly_timeout")
