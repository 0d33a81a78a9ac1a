"""REST API throughput and latency, against a bare Klein endpoint in the same run.

    .venv/bin/python bench/rest.py [--seconds 3] [--publish 5000] [--connections 8]

The server side (this process, one core) runs the real API on a real embedded-Redis store
holding 300 events, and a bare Klein app whose /req and /publish return the very same bytes
without doing anything. A load process (this script with --load) drives both over loopback
with keep-alive connections and reports:

- /req for the client's first timeline poll (300 events, gzip accepted): requests/s as a
  ratio of the bare endpoint's (goal >= 0.5), and p50/p99 latency of sequential requests
  (goal p99 <= 10 ms);
- /publish of distinct signed kind 1 events: events/s (goal >= 1,500) and the same ratio.

Each rate is given twice: by the wall clock, and per second of this process's CPU time
(requests / server CPU seconds), which is what one core of the server can do whatever else
runs on the machine (the load process and redis-server run on other cores when free).
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from twisted.internet import defer, protocol, reactor  # noqa: E402

import harness  # noqa: E402

TIMELINE_EVENTS = 300
FIRST_POLL = b'{"kinds":[40000],"since":-1,"until":-1,"limit":300}'
SECRET = bytes.fromhex("42" * 32)
LATENCY_SAMPLES = 1000


# -- load side (a separate process, so the server keeps its core) --------------------------

class _KeepAliveClient(protocol.Protocol):
    """Sends requests one after the other on one connection, timing each answer."""

    def __init__(self, requests, latencies):
        self.requests = requests  # an iterator of raw request bytes
        self.latencies = latencies
        self.buffer = b""
        self.done = defer.Deferred()
        self.sent_at = 0.0
        self.statuses = {}

    def connectionMade(self):
        self._next()

    def _next(self):
        request = next(self.requests, None)
        if request is None:
            self.transport.loseConnection()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def dataReceived(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            if len(self.buffer) < head_end + 4 + length:
                return
            status = int(head.split(b" ")[1])
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.buffer = self.buffer[head_end + 4 + length:]
            self.latencies.append(time.perf_counter() - self.sent_at)
            self._next()

    def connectionLost(self, reason):
        self.done.callback(self.statuses)


async def _drive(port, requests, connections):
    """Send every request (an iterator shared by the connections); (seconds, latencies)."""
    latencies = []
    clients = [_KeepAliveClient(requests, latencies) for _ in range(connections)]
    started = time.perf_counter()
    for client in clients:
        factory = protocol.ClientFactory.forProtocol(lambda c=client: c)
        reactor.connectTCP("127.0.0.1", port, factory)
    statuses = await defer.gatherResults([c.done for c in clients])
    elapsed = time.perf_counter() - started
    merged = {}
    for s in statuses:
        for code, n in s.items():
            merged[code] = merged.get(code, 0) + n
    if set(merged) != {200}:
        raise SystemExit(f"unexpected statuses {merged}")
    return elapsed, latencies


def _raw_post(path: bytes, body: bytes, accept: bytes) -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nAccept: " + accept + b"\r\n"
            b"Accept-Encoding: gzip, deflate\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


async def _load(args):
    """One measured run against one endpoint; prints its figures as JSON."""
    from nostrp2p.nostr import sign_event

    if args.what == "req":
        req = _raw_post(b"/req", FIRST_POLL, b"application/octet-stream")
        count = [0]
        deadline = time.perf_counter() + args.seconds

        def timed():
            while time.perf_counter() < deadline:
                count[0] += 1
                yield req
        elapsed, _ = await _drive(args.port, timed(), args.connections)
        _, latencies = await _drive(args.port, iter([req] * LATENCY_SAMPLES), 1)
        latencies.sort()
        result = {"count": count[0] + LATENCY_SAMPLES, "per_second": count[0] / elapsed,
                  "p50_ms": 1000 * latencies[len(latencies) // 2],
                  "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}
    else:
        bodies = [
            json.dumps(sign_event(SECRET, 1_800_000_000 + args.offset + n, 1, (),
                                  f"bench post {n}").to_json()).encode()
            for n in range(args.publish)
        ]
        requests = iter([_raw_post(b"/publish", b, b"application/json") for b in bodies])
        elapsed, _ = await _drive(args.port, requests, args.connections)
        result = {"count": args.publish, "per_second": args.publish / elapsed}
    print(json.dumps(result))


# -- server side ---------------------------------------------------------------------------

def _bare_klein(req_answer: bytes, req_headers: dict, publish_answer: bytes):
    from klein import Klein

    app = Klein()

    @app.route("/req", methods=["POST"])
    def req(request):
        request.content.read()
        for name, value in req_headers.items():
            request.setHeader(name, value)
        return req_answer

    @app.route("/publish", methods=["POST"])
    def publish(request):
        request.content.read()
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"content-length", b"%d" % len(publish_answer))
        return publish_answer

    return app.resource()


async def _serve(args):
    from twisted.web.client import Agent, FileBodyProducer, readBody
    from twisted.web.http_headers import Headers
    from twisted.web.server import Site
    import io

    from nostrp2p.api import NoOverlay, api_site, make_api
    from nostrp2p.nostr import KeyPair

    owner = KeyPair.from_secret(SECRET)
    store_service, store = await harness.store_with_posts("bench-rest-", SECRET, TIMELINE_EVENTS,
                                                          "timeline post number")

    api_port = reactor.listenTCP(0, api_site(make_api(store, NoOverlay(), owner.public, True)),
                                 interface="127.0.0.1")
    agent = Agent(reactor)
    response = await agent.request(
        b"POST", b"http://127.0.0.1:%d/req" % api_port.getHost().port,
        Headers({"Accept-Encoding": ["gzip"], "Content-Type": ["application/json"]}),
        FileBodyProducer(io.BytesIO(FIRST_POLL)))
    answer = await readBody(response)
    headers = {name: values[0] for name, values in response.headers.getAllRawHeaders()
               if name.lower() in (b"content-type", b"content-encoding", b"vary")}
    headers[b"content-length"] = b"%d" % len(answer)
    # Same Site options as the API (no form parsing), so the ratio is the API's own cost.
    bare = Site(_bare_klein(answer, headers, b'{"Status": "SUCCESS"}'),
                parsePOSTFormSubmission=False)
    bare.log = lambda request: None
    bare_port = reactor.listenTCP(0, bare, interface="127.0.0.1")

    async def measure(what, port, offset=0):
        """Drive one endpoint from a load process."""
        return await harness.run_load(__file__, [
            "--what", what, "--port", str(port), "--offset", str(offset),
            "--seconds", str(args.seconds), "--publish", str(args.publish),
            "--connections", str(args.connections)])

    api, bare = api_port.getHost().port, bare_port.getHost().port
    r = {"bare_req": await measure("req", bare), "api_req": await measure("req", api),
         "bare_publish": await measure("publish", bare),
         "api_publish": await measure("publish", api, args.publish)}
    print(f"timeline answer: {TIMELINE_EVENTS} events, {len(answer)} bytes gzip; "
          f"{args.connections} keep-alive connections")
    for what in ("req", "publish"):
        a, b = r[f"api_{what}"], r[f"bare_{what}"]
        print(f"/{what:8} wall clock: API {a['per_second']:6.0f}/s, bare Klein "
              f"{b['per_second']:6.0f}/s, ratio {a['per_second'] / b['per_second']:.2f}")
        print(f"/{what:8} per second of server CPU (one core): API {a['per_cpu_second']:6.0f}/s,"
              f" bare Klein {b['per_cpu_second']:6.0f}/s, "
              f"ratio {a['per_cpu_second'] / b['per_cpu_second']:.2f}")
    print(f"/req      sequential latency: API p50 {r['api_req']['p50_ms']:.2f} ms, "
          f"p99 {r['api_req']['p99_ms']:.2f} ms; bare p50 {r['bare_req']['p50_ms']:.2f} ms, "
          f"p99 {r['bare_req']['p99_ms']:.2f} ms")
    print("goals: /req ratio >= 0.5 with p99 <= 10 ms; /publish >= 1500 events/s on one core")
    held = await store.count()
    print(f"store holds {held} events (expected {TIMELINE_EVENTS + args.publish})")
    await api_port.stopListening()
    await bare_port.stopListening()
    await store_service.stopService()


def _options(parser):
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--publish", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=8)


if __name__ == "__main__":
    harness.main(__doc__, _options, _load, _serve)
