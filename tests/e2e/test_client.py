"""The command-line client on real servers: a post made with it on one server is read with it
from another's timeline, under its author's profile name; a reply and a follow list go out the
same way; /metrics counters move as the events flow. The secret key stays in the client: it is
in no request (every byte the client exchanged is recorded by a proxy), no log and no file."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from nostrp2p.admin.paths import admin_socket_path
from nostrp2p.client.http import admin_get
from nostrp2p.nostr import sign_event

from .admin_helpers import RecordingProxy, Servers, nostrp2p, short_dir
from .cluster import poll_until

DELIVERY = 60.0


def metrics(server) -> dict:
    # A blocking read of another process's socket: short, and the reactor has nothing to do
    # meanwhile.
    code, body = admin_get(str(admin_socket_path(server.data_dir)), "/metrics")
    assert code == 200, body
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def secret_forms(keys) -> list[bytes]:
    return [keys.secret, keys.secret.hex().encode(), keys.secret.hex().upper().encode(),
            keys.nsec.encode()]


def files_under(path: Path):
    for root, _, names in os.walk(path):
        for name in names:
            full = Path(root) / name
            if full.is_file() and not full.is_symlink():
                yield full


class ClientTests(TestCase):
    timeout = 300

    async def test_post_on_one_server_read_from_another_and_the_key_stays_home(self):
        servers = Servers(self)
        a = servers.add("a")
        b = servers.add("b")
        await servers.start("a")
        await servers.start("b", bootstrap=["a"])
        to_a, to_b = RecordingProxy(self, a.rest_port), RecordingProxy(self, b.rest_port)
        alice, bob = a.keys, b.keys

        # Alice's name comes from her profile (published the ordinary way).
        profile = sign_event(alice.secret, int(time.time()), 0, [], json.dumps({"name": "alice"}))
        self.assertEqual((await a.publish(profile))[0], 200)

        home = short_dir(self, "np2p-cli-")
        key_file = home / "alice.nsec"
        key_file.write_text(alice.nsec + "\n")
        os.chmod(key_file, 0o600)
        before_a, before_b = metrics(a), metrics(b)
        runs = []

        async def run(*args, env=None):
            out, err, code = await nostrp2p(self, *args, env=env, cwd=home)
            runs.append(out + err)
            self.assertEqual(code, 0, f"nostrp2p {args[0]}: {err}")
            return out

        # Post on A, signed from a key file.
        out = await run("post", "hello from the command line", "--server", to_a.url,
                        "--key-file", str(key_file))
        post_id = re.search(r"posted ([0-9a-f]{64})", out).group(1)

        # Read from B's timeline, newest first, under the author's name.
        async def on_b():
            text = await run("timeline", "--server", to_b.url)
            return f"id {post_id}" in text and "alice (npub1" in text
        await poll_until(reactor, on_b, DELIVERY, "the post never showed on B's timeline by name",
                         interval=1.0)
        timeline = runs[-1]
        self.assertIn("hello from the command line", timeline)
        self.assertLess(timeline.index("alice (npub1"), timeline.index(f"id {post_id}"))

        # Bob replies from B (key from the environment) and follows Alice.
        env = {"NOSTRP2P_SECRET_KEY": bob.nsec}
        out = await run("reply", post_id, "hello back", "--server", to_b.url, env=env)
        reply_id = re.search(r"replied ([0-9a-f]{64})", out).group(1)
        out = await run("follow", alice.npub, "--server", to_b.url, env=env)
        self.assertIn(f"following {alice.npub}", out)

        async def reply_on_a():
            held = await a.req({"kinds": [1], "ids": [reply_id]})
            return held and held[0].pubkey == bob.public and \
                ("e", post_id, "", "root") in held[0].tags and ("p", alice.public.hex()) in held[0].tags
        await poll_until(reactor, reply_on_a, DELIVERY, "Bob's reply never reached A")
        follows = await b.req({"kinds": [3], "authors": [bob.public.hex()]})
        self.assertEqual([t for t in follows[0].tags], [("p", alice.public.hex())])

        # The counters moved as the events flowed.
        after_a, after_b = metrics(a), metrics(b)

        def moved(before, after, name, **labels):
            key = (name, frozenset(labels.items()))
            return after.get(key, 0) - before.get(key, 0)
        self.assertGreaterEqual(moved(before_a, after_a, "nostrp2p_api_requests_total",
                                      endpoint="/publish", method="POST", code="200"), 1)
        self.assertGreaterEqual(moved(before_b, after_b, "nostrp2p_api_requests_total",
                                      endpoint="/publish", method="POST", code="200"), 2)
        self.assertGreaterEqual(moved(before_b, after_b, "nostrp2p_overlay_delivered_total"), 1)
        self.assertGreaterEqual(moved(before_b, after_b, "nostrp2p_node_stored_total"), 1)
        self.assertGreaterEqual(moved(before_a, after_a, "nostrp2p_store_added_total"), 2)
        self.assertGreaterEqual(moved(before_a, after_a, "nostrp2p_overlay_datagrams_received_total"), 1)

        # The secret keys went nowhere: not in any byte exchanged with the servers, not in what
        # the client printed, not in the servers' logs, not in any file but the key file.
        self.assertIn(b"POST /publish", bytes(to_a.recorded))
        self.assertIn(b"POST /publish", bytes(to_b.recorded))
        for server in (a, b):
            await server.stop(reactor)  # the embedded Redis has written its files
        places = {"requests to A": bytes(to_a.recorded), "requests to B": bytes(to_b.recorded),
                  "client output": "".join(runs).encode(),
                  "A's log": bytes(a.output.log), "B's log": bytes(b.output.log)}
        for path in [*files_under(a.data_dir), *files_under(b.data_dir), *files_under(home)]:
            if path != key_file:
                places[str(path)] = path.read_bytes()
        self.assertGreater(len(places), 8)
        for keys in (alice, bob):
            for form in secret_forms(keys):
                for where, data in places.items():
                    self.assertNotIn(form, data, f"a secret key is in {where}")
        self.assertEqual(key_file.read_text(), alice.nsec + "\n")
        self.assertEqual(sorted(p.name for p in home.iterdir()), ["alice.nsec"])

    async def test_bad_input_ends_in_one_line(self):
        cases = [
            (("post", "hi", "--server", "http://127.0.0.1:9"), {"NOSTRP2P_SECRET_KEY": "nsec1bad"},
             "is not an nsec or 64 hex"),
            (("follow", "npub1nope", "--server", "http://127.0.0.1:9"), {}, "not someone to follow"),
            (("reply", "xyz", "text", "--server", "http://127.0.0.1:9"),
             {"NOSTRP2P_SECRET_KEY": "1" * 64}, "is not an event id"),
            (("timeline", "--server", "http://127.0.0.1:9"), {}, "does not answer"),
        ]
        for args, env, expected in cases:
            out, err, code = await nostrp2p(self, *args, env=env)
            self.assertEqual(code, 1, (args, out, err))
            self.assertEqual(err.count("\n"), 1, err)
            self.assertIn(expected, err)
