"""``nostrp2p status`` on real servers: each shows the others as neighbours with the right
owners; a server that stops answering is gone from the others' status within a minute, by the
overlay's own liveness timeouts; a server whose bootstrap is dead says so in words."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from nostrp2p.admin.status import NO_BOOTSTRAP_ADVICE

from .admin_helpers import Servers, nostrp2p, status
from .cluster import free_port, poll_until

GONE_WITHIN = 60.0


def _owners(entries) -> set:
    return {e["owner"] for e in entries}


class StatusTests(TestCase):
    timeout = 300

    async def test_three_servers_see_each_other_and_one_going_away(self):
        servers = Servers(self)
        dead = f"127.0.0.1:{free_port()}"  # nothing listens there
        lonely = servers.add("lonely", "--bootstrap", dead)
        boot = servers.add("boot")
        a = servers.add("a")
        b = servers.add("b")
        await servers.start("lonely")
        await servers.start("boot")
        await servers.start("a", bootstrap=["boot"])
        await servers.start("b", bootstrap=["boot"])
        three = {"boot": boot, "a": a, "b": b}

        # The server without a bootstrap said so at start, with what to do.
        self.assertIn(NO_BOOTSTRAP_ADVICE, boot.log_text())

        async def all_see_each_other():
            for server in three.values():
                others = {s.keys.public.hex() for s in three.values() if s is not server}
                if _owners((await status(self, server))["neighbours"]) != others:
                    return False
            return True
        await poll_until(reactor, all_see_each_other, 60.0, "the three never saw each other")
        for name, server in three.items():
            seen = await status(self, server)
            self.assertEqual(seen["owner"], server.keys.public.hex())
            self.assertEqual(seen["owner_npub"], server.keys.npub)
            self.assertEqual(seen["binding"], "unbound")
            self.assertEqual(seen["warnings"], [], name)
            for neighbour in seen["neighbours"]:
                other = next(s for s in three.values() if s.keys.public.hex() == neighbour["owner"])
                self.assertEqual(neighbour["address"], other.overlay)
            self.assertTrue(_owners(seen["neighbours"]) <= _owners(seen["sessions"]))
        self.assertIn("advice", (await status(self, boot))["bootstrap"])

        # A stops answering: the others' liveness timeouts drop it within a minute.
        servers.freeze(a)
        gone_from = reactor.seconds()

        async def a_is_gone():
            for server in (boot, b):
                seen = await status(self, server)
                if a.keys.public.hex() in _owners(seen["neighbours"]) | _owners(seen["sessions"]):
                    return False
            return True
        await poll_until(reactor, a_is_gone, GONE_WITHIN, "A still shown a minute after it stopped")
        self.assertLess(reactor.seconds() - gone_from, GONE_WITHIN)
        self.assertEqual(_owners((await status(self, b))["neighbours"]), {boot.keys.public.hex()})

        # B stops cleanly: it tells its neighbours, and the server left without neighbours and
        # without a bootstrap says what to do.
        await b.stop(reactor)

        async def boot_alone_and_told_what_to_do():
            seen = await status(self, boot)
            return not seen["neighbours"] and NO_BOOTSTRAP_ADVICE in seen["warnings"]
        await poll_until(reactor, boot_alone_and_told_what_to_do, GONE_WITHIN,
                         "the bootstrap did not show B gone, or said nothing of being alone")

        # The server whose bootstrap is dead has been alone long enough to be warned.
        async def warned():
            return any(f"bootstrap {dead} does not answer" in w
                       for w in (await status(self, lonely))["warnings"])
        await poll_until(reactor, warned, 60.0, "no warning about the dead bootstrap")
        out, err, code = await nostrp2p(self, "status", "--datadir", str(lonely.data_dir))
        self.assertEqual(code, 0, err)
        self.assertRegex(out, rf"! no neighbours for \d+ seconds: bootstrap {dead} does not answer")
        self.assertIn("binding         unbound", out)
        self.assertIn(f"owner           {lonely.keys.npub}", out)

    async def test_status_of_a_directory_without_a_server_is_one_line(self):
        out, err, code = await nostrp2p(self, "status", "--datadir", "/nonexistent/np2p")
        self.assertEqual(code, 1)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("no server is running with data directory /nonexistent/np2p", err)
