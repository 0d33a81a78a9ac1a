"""Real server processes behind real NATs (iptables MASQUERADE in network namespaces): a public
bootstrap, two servers behind cone NATs and one behind a symmetric NAT. The two cone-NAT servers
punch through to a direct session; the symmetric-NAT one is reached through the bootstrap as
relay."""

import json
import subprocess
import sys
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from nostrp2p.nostr import KeyPair, sign_event
from tests.netns.lab import HOSTS, PUBLIC_ADDRESS, lab_for

REPO = Path(__file__).resolve().parents[2]
OVERLAY_PORT = 20000
REST_PORT = 20001
DEADLINE = 90.0

_CLIENT = """
import json, sys, urllib.request
url, body = sys.argv[1], sys.argv[2].encode()
request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as answer:
    sys.stdout.write(answer.read().hex())
"""


class NatServersTests(TestCase):
    timeout = 240

    def setUp(self):
        self.lab = lab_for(self)
        self.keys = {}
        self.logs = {}
        self.processes = []
        self.addCleanup(self._stop_all)

    def _address(self, name):
        return PUBLIC_ADDRESS if name == "public" else f"{HOSTS[name].lan_net}.2"

    def _start(self, name, *extra):
        keys = self.keys[name] = KeyPair.generate()
        data = Path(self.mktemp()).resolve()
        data.mkdir(parents=True)
        log = self.logs[name] = data / "log.json"
        address = self._address(name)
        argv = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                "--nodaemon", "--pidfile=", "--logfile", str(data / "twistd.log"), "nostrp2p",
                "--pubkey", keys.public.hex(), "--listen", f"{address}:{OVERLAY_PORT}",
                "--rest", f"tcp:{REST_PORT}:interface={address}", "--datadir", str(data),
                "--log-json", str(log), "--debug", *extra]
        if name != "public":
            argv += ["--bootstrap", f"{PUBLIC_ADDRESS}:{OVERLAY_PORT}"]
        process = subprocess.Popen(self.lab.exec_argv(name, ["env", f"PYTHONPATH={REPO}", *argv]),
                                   cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        self._poll(lambda: self._post(name, "/req", {"kinds": [0], "limit": 1}) is not None,
                   f"{name} did not start")

    def _stop_all(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def _post(self, name, path, body):
        url = f"http://{self._address(name)}:{REST_PORT}{path}"
        result = subprocess.run(
            self.lab.exec_argv(name, [sys.executable, "-c", _CLIENT, url, json.dumps(body)]),
            capture_output=True, text=True, timeout=30)
        return bytes.fromhex(result.stdout) if result.returncode == 0 else None

    def _poll(self, predicate, message):
        deadline = time.monotonic() + DEADLINE
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(message)
            time.sleep(0.5)  # a real process on the other side of a real NAT: poll, bounded

    def _sessions(self, name):
        """(owner key hex, host) of every overlay session the server's log records."""
        found = set()
        with open(self.logs[name], encoding="utf-8") as log:
            for line in log:  # --log-json: one JSON object per line, with the message text
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # the last line, still being written
                if record.get("message", "").startswith("overlay session with") and "host" in record:
                    found.add((record["owner"], record["host"]))  # (not those through a relay)
        return found

    def _holds(self, name, event):
        answer = self._post(name, "/req", {"ids": [event.id.hex()], "kinds": [1]})
        return answer is not None and event.id in answer

    def test_cone_nats_punch_through_and_the_symmetric_one_is_relayed(self):
        self._start("public", "--deny-write")
        for name in ("host-a", "host-b", "host-s"):
            self._start(name)
        a, b, s = (self.keys[n] for n in ("host-a", "host-b", "host-s"))
        # Everyone joined through the bootstrap.
        self._poll(lambda: all(self._sessions(n) for n in ("host-a", "host-b", "host-s")),
                   "not every server got a session with the bootstrap")

        to_b = sign_event(a.secret, int(time.time()), 1, [["p", b.public.hex()]], "hello b")
        to_s = sign_event(a.secret, int(time.time()), 1, [["p", s.public.hex()]], "hello s")
        for event in (to_b, to_s):
            self.assertIsNotNone(self._post("host-a", "/publish", event.to_json()))
        self._poll(lambda: self._holds("host-b", to_b), "the mention never reached b")
        self._poll(lambda: self._holds("host-s", to_s), "the mention never reached s")

        # a and b punched through: each holds a session with the other at the other's NAT.
        wan = {name: router.wan for name, router in HOSTS.items()}
        self._poll(lambda: (b.public.hex(), wan["host-b"]) in self._sessions("host-a")
                   and (a.public.hex(), wan["host-a"]) in self._sessions("host-b"),
                   "the cone-NAT servers made no direct session")
        # s's NAT gives every destination its own port: nobody reaches s but through a relay.
        for name in ("host-a", "host-b"):
            self.assertNotIn(wan["host-s"], {host for _, host in self._sessions(name)})

        # With the bootstrap gone there is no relay left: a second mention can only go direct.
        bootstrap = self.processes[0]
        bootstrap.terminate()
        bootstrap.wait(timeout=30)
        again = sign_event(a.secret, int(time.time()), 1, [["p", b.public.hex()]], "direct, b")
        self.assertIsNotNone(self._post("host-a", "/publish", again.to_json()))
        self._poll(lambda: self._holds("host-b", again), "the direct mention never reached b")
