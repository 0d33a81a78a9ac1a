"""The NIP-01 WebSocket relay interface, against a bare autobahn endpoint in the same run.

    .venv/bin/python bench/relay.py [--seconds 3] [--subscribers 1000] [--events 3000]

The server side (this process, one core) runs the real API and relay on a real embedded-Redis
store holding 500 events, and a bare autobahn endpoint that answers the very same frames
without doing anything: to a REQ the 500 stored EVENT frames and EOSE, to an EVENT the same
event to every open connection. A load process (this script with --load) drives both over
loopback and reports, per second of this process's CPU time (what one core of the server
can do whatever else runs on the machine):

- REQ of 500 stored events (then EOSE), repeated on 4 connections: ratio to the bare
  endpoint's (goal >= 0.5);
- one event fanned out to ``--subscribers`` live subscriptions, one connection each: time from
  the EVENT sent to the last subscriber's frame (median of 20), and the server's memory per
  idle connection (RSS growth over the open connections), both beside the bare endpoint's;
- EVENT ingest: distinct signed kind 1 events on one connection (64 awaiting their OK at a
  time), events per server CPU second, against POST /publish's (8 keep-alive connections).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from twisted.internet import defer, reactor  # noqa: E402

import harness  # noqa: E402

STORED_EVENTS = 500
SECRET = bytes.fromhex("42" * 32)
REQ_STORED = b'["REQ","b",{"kinds":[1],"limit":500}]'
REQ_LIVE = b'["REQ","live",{"kinds":[1],"limit":0}]'
FANOUT_ROUNDS = 20
INGEST_WINDOW = 64
OPEN_AT_ONCE = 100


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- load side (a separate process, so the server keeps its core) --------------------------

def _client_factory(port, protocol_class, **attributes):
    from autobahn.twisted.websocket import WebSocketClientFactory

    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
    factory.protocol = protocol_class
    factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0)
    for name, value in attributes.items():
        setattr(factory, name, value)
    return factory


async def _connect(port, factory):
    from twisted.internet.endpoints import TCP4ClientEndpoint

    client = await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    await client.is_open
    return client


async def _load_req(args):
    from autobahn.twisted.websocket import WebSocketClientProtocol

    deadline = time.perf_counter() + args.seconds

    class ReqLoop(WebSocketClientProtocol):
        def onOpen(self):
            self.done = defer.Deferred()
            self.requests = 0
            self.events = 0
            self.sendMessage(REQ_STORED)

        def onMessage(self, payload, isBinary):
            if payload.startswith(b'["EVENT"'):
                self.events += 1
            elif payload.startswith(b'["EOSE"'):
                self.requests += 1
                if time.perf_counter() < deadline:
                    self.sendMessage(REQ_STORED)
                else:
                    self.done.callback(None)

    clients = [await _connect(args.port, _client_factory(args.port, ReqLoop))
               for _ in range(4)]
    await defer.gatherResults([c.done for c in clients])
    requests = sum(c.requests for c in clients)
    events = sum(c.events for c in clients)
    if events != requests * STORED_EVENTS:
        raise SystemExit(f"{events} events for {requests} REQs")
    for c in clients:
        c.transport.loseConnection()
    return {"count": requests}


async def _load_fanout(args):
    from autobahn.twisted.websocket import WebSocketClientProtocol

    from nostrp2p.nostr import sign_event

    state = {"round": None, "arrived": 0, "last": 0.0}

    class Subscriber(WebSocketClientProtocol):
        def onOpen(self):
            self.ready = defer.Deferred()
            self.sendMessage(REQ_LIVE)

        def onMessage(self, payload, isBinary):
            if payload.startswith(b'["EOSE"'):
                self.ready.callback(None)
            elif payload.startswith(b'["EVENT"'):
                state["arrived"] += 1
                state["last"] = time.perf_counter()
                if state["arrived"] == args.subscribers:
                    state["round"].callback(None)

    class Publisher(WebSocketClientProtocol):
        def onMessage(self, payload, isBinary):
            pass

    factory = _client_factory(args.port, Subscriber)
    subscribers = []
    for start in range(0, args.subscribers, OPEN_AT_ONCE):
        batch = [defer.ensureDeferred(_connect(args.port, factory))
                 for _ in range(min(OPEN_AT_ONCE, args.subscribers - start))]
        subscribers += await defer.gatherResults(batch)
    await defer.gatherResults([s.ready for s in subscribers])
    publisher = await _connect(args.port, _client_factory(args.port, Publisher))
    # The server measures its memory with every subscriber idle.
    await _sleep(1.0)
    times = []
    for n in range(FANOUT_ROUNDS):
        event = sign_event(SECRET, 1_800_000_000 + args.offset + n, 1, (), f"fan-out {n}")
        frame = json.dumps(["EVENT", event.to_json()]).encode()
        state.update(round=defer.Deferred(), arrived=0)
        sent = time.perf_counter()
        publisher.sendMessage(frame)
        await state["round"]
        times.append(state["last"] - sent)
    for client in subscribers + [publisher]:
        client.transport.loseConnection()
    return {"count": FANOUT_ROUNDS, "median_ms": 1000 * statistics.median(times),
            "max_ms": 1000 * max(times)}


async def _load_ingest(args):
    from autobahn.twisted.websocket import WebSocketClientProtocol

    from nostrp2p.nostr import sign_event

    frames = [json.dumps(["EVENT", sign_event(SECRET, 1_800_000_000 + args.offset + n, 1, (),
                                              f"ingest {n}").to_json()]).encode()
              for n in range(args.events)]

    class Ingest(WebSocketClientProtocol):
        def onOpen(self):
            self.done = defer.Deferred()
            self.next = 0
            self.accepted = 0
            self.answers = 0
            for _ in range(INGEST_WINDOW):
                self._send()

        def _send(self):
            if self.next < len(frames):
                self.sendMessage(frames[self.next])
                self.next += 1

        def onMessage(self, payload, isBinary):
            if not payload.startswith(b'["OK"'):
                return
            self.answers += 1
            self.accepted += b",true," in payload
            if self.answers == len(frames):
                self.done.callback(None)
            else:
                self._send()

    client = await _connect(args.port, _client_factory(args.port, Ingest))
    started = time.perf_counter()
    await client.done
    elapsed = time.perf_counter() - started
    if client.accepted != args.events:
        raise SystemExit(f"only {client.accepted} of {args.events} events accepted")
    client.transport.loseConnection()
    return {"count": args.events, "per_second": args.events / elapsed}


async def _load_publish(args):
    import rest
    from nostrp2p.nostr import sign_event

    bodies = [json.dumps(sign_event(SECRET, 1_800_000_000 + args.offset + n, 1, (),
                                    f"publish {n}").to_json()).encode()
              for n in range(args.events)]
    requests = iter([rest._raw_post(b"/publish", b, b"application/json") for b in bodies])
    elapsed, _ = await rest._drive(args.port, requests, 8)
    return {"count": args.events, "per_second": args.events / elapsed}


def _sleep(seconds):
    from twisted.internet import task
    return task.deferLater(reactor, seconds, lambda: None)


def _raise_fd_limit():
    """A thousand sockets and more."""
    import resource
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _load(args):
    _raise_fd_limit()
    task = {"req": _load_req, "fanout": _load_fanout, "ingest": _load_ingest,
            "publish": _load_publish}[args.what]
    print(json.dumps(await task(args)))


# -- server side ---------------------------------------------------------------------------

def _bare_factory(stored_frames: list[bytes]):
    """Answers a REQ with the captured frames, an EVENT with the event to every connection;
    parses nothing, looks nothing up."""
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

    eose_only = [b'["EOSE","live"]']

    class Bare(WebSocketServerProtocol):
        def onOpen(self):
            self.factory.open.add(self)

        def onClose(self, wasClean, code, reason):
            self.factory.open.discard(self)

        def onMessage(self, payload, isBinary):
            if payload.startswith(b'["REQ"'):
                for frame in (eose_only if b'"limit":0' in payload else stored_frames):
                    self.sendMessage(frame)
            elif payload.startswith(b'["EVENT"'):
                frame = b'["EVENT","live",' + payload[9:-1] + b"]"
                for connection in self.factory.open:
                    if connection is not self:
                        connection.sendMessage(frame)
                self.sendMessage(b'["OK","",true,""]')

    factory = WebSocketServerFactory()
    factory.protocol = Bare
    factory.open = set()
    return factory


async def _capture_req_frames(port) -> list[bytes]:
    """The frames the relay sends for REQ_STORED, exactly."""
    from autobahn.twisted.websocket import WebSocketClientProtocol

    class Capture(WebSocketClientProtocol):
        def onOpen(self):
            self.frames = []
            self.done = defer.Deferred()
            self.sendMessage(REQ_STORED)

        def onMessage(self, payload, isBinary):
            if payload.startswith((b'["EVENT"', b'["EOSE"')):
                self.frames.append(payload)
            if payload.startswith(b'["EOSE"'):
                self.done.callback(None)

    client = await _connect(port, _client_factory(port, Capture))
    await client.done
    client.transport.loseConnection()
    return client.frames


async def _serve(args):
    from autobahn.twisted.resource import WebSocketResource
    from twisted.web.server import Site

    from nostrp2p.api import NoOverlay, api_site, make_api
    from nostrp2p.api.relay import RelaySettings
    from nostrp2p.nostr import KeyPair

    _raise_fd_limit()
    store_service, store = await harness.store_with_posts("bench-relay-", SECRET, STORED_EVENTS,
                                                          "stored post number")
    settings = RelaySettings(max_connections_per_address=args.subscribers + 10)
    owner = KeyPair.from_secret(SECRET)
    site = api_site(make_api(store, NoOverlay(), owner.public, True, relay_settings=settings))
    api_port = reactor.listenTCP(0, site, interface="127.0.0.1", backlog=1024)
    hub = site.resource.relay.hub
    frames = await _capture_req_frames(api_port.getHost().port)
    if len(frames) != STORED_EVENTS + 1:
        raise SystemExit(f"the relay answered {len(frames) - 1} events, not {STORED_EVENTS}")
    bare = _bare_factory(frames)
    bare_site = Site(WebSocketResource(bare))
    bare_port = reactor.listenTCP(0, bare_site, interface="127.0.0.1", backlog=1024)

    memory = {}

    async def watch_memory(name, count_open, baseline):
        """RSS growth once every subscriber (and the publisher) is connected and idle."""
        while count_open() < args.subscribers + 1:
            await _sleep(0.05)
        await _sleep(0.3)
        memory[name] = (_rss_bytes() - baseline) / (args.subscribers + 1)

    async def measure(what, port, offset=0, watch=None):
        """Drive one endpoint from a load process. ``watch``: (name, count of open
        connections) to measure memory per connection."""
        watching = None
        if watch is not None:
            watching = defer.ensureDeferred(watch_memory(*watch, _rss_bytes()))
        result = await harness.run_load(__file__, [
            "--what", what, "--port", str(port), "--offset", str(offset),
            "--seconds", str(args.seconds), "--subscribers", str(args.subscribers),
            "--events", str(args.events)])
        if watching is not None:
            await watching
        return result

    api, bare_number = api_port.getHost().port, bare_port.getHost().port
    r = {"bare_req": await measure("req", bare_number), "api_req": await measure("req", api)}
    r["bare_fanout"] = await measure("fanout", bare_number, 0,
                                     ("bare", lambda: len(bare.open)))
    r["api_fanout"] = await measure("fanout", api, 100,
                                    ("api", lambda: len(hub.connections)))
    r["api_ingest"] = await measure("ingest", api, 1000)
    r["api_publish"] = await measure("publish", api, 1000 + args.events)

    a, b = r["api_req"], r["bare_req"]
    print(f"REQ of {STORED_EVENTS} stored events, per second of server CPU (one core): relay "
          f"{a['per_cpu_second']:.0f}/s, bare autobahn {b['per_cpu_second']:.0f}/s, ratio "
          f"{a['per_cpu_second'] / b['per_cpu_second']:.2f} (goal >= 0.5)")
    a, b = r["api_fanout"], r["bare_fanout"]
    print(f"one event to {args.subscribers} live subscriptions: relay median "
          f"{a['median_ms']:.1f} ms (max {a['max_ms']:.1f}), bare autobahn median "
          f"{b['median_ms']:.1f} ms (max {b['max_ms']:.1f}), ratio "
          f"{b['median_ms'] / a['median_ms']:.2f}")
    print(f"memory per idle connection: relay {memory['api'] / 1024:.1f} KiB, bare autobahn "
          f"{memory['bare'] / 1024:.1f} KiB")
    a, b = r["api_ingest"], r["api_publish"]
    print(f"ingest per second of server CPU (one core): EVENT {a['per_cpu_second']:.0f}/s, "
          f"POST /publish {b['per_cpu_second']:.0f}/s, ratio "
          f"{a['per_cpu_second'] / b['per_cpu_second']:.2f}; wall clock EVENT "
          f"{a['per_second']:.0f}/s, /publish {b['per_second']:.0f}/s")
    held = await store.count()
    print(f"store holds {held} events (expected {STORED_EVENTS + FANOUT_ROUNDS + 2 * args.events})")
    await api_port.stopListening()
    await bare_port.stopListening()
    await store_service.stopService()


def _options(parser):
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=3000)


if __name__ == "__main__":
    harness.main(__doc__, _options, _load, _serve)
