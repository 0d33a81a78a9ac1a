"""An impostor among real servers (separate processes on loopback, each with its own Redis): X is
bound by its owner; the impostor is started with X's owner public key but not the secret, so it
cannot bind itself. A mention of X published on a third server reaches X and never the
impostor, and the impostor's own log says it was not believed."""

from __future__ import annotations

import time
from pathlib import Path

from twisted.internet import reactor, task
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from nostrp2p.binding.file import write_binding
from nostrp2p.binding.overlay_key import overlay_public_key
from nostrp2p.nostr import KeyPair
from nostrp2p.nostr.binding import make_binding

from .cluster import Server, poll_until
from .test_servers import Cluster, post

NOT_BELIEVED = "has bound overlay key"  # the impostor's warning (nostrp2p/mesh/claims.py)
WATCH_IMPOSTOR_SECONDS = 8.0  # how long the impostor is watched for the mention after X has it


def bind(server: Server) -> bytes:
    """What ``nostrp2p bind`` does for the server's owner, before it starts: its overlay key."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    overlay_key = overlay_public_key(server.data_dir)
    now = int(time.time())
    write_binding(server.data_dir, make_binding(server.keys.secret, overlay_key, now,
                                                now + 86400, now))
    return overlay_key


class ImpostorTests(TestCase):
    timeout = 300

    def test_a_mention_reaches_the_bound_server_and_never_the_impostor(self):
        return ensureDeferred(self._impostor())

    async def _impostor(self):
        cluster = Cluster(self)
        cluster.add("c")
        x = cluster.add("x")
        # The impostor has only X's public key (what anyone can read from X's events).
        impostor = Server("impostor", KeyPair(b"", x.keys.public),
                          Path(self.mktemp()).resolve())
        cluster.servers["impostor"] = impostor
        self.addCleanup(cluster._stop, impostor)
        x_overlay_key = bind(x)
        c = await cluster.start("c")
        await cluster.start("x", bootstrap=["c"])
        warmup = post(c.keys, "warm-up")
        self.assertEqual((await c.publish(warmup))[0], 200)
        await cluster.wait_in_timeline(x, warmup.id, "C's post never reached X")
        # The impostor joins last: on the overlay it is the latest to claim X's owner.
        await cluster.start("impostor", bootstrap=["c"])
        await cluster.wait_in_timeline(impostor, warmup.id, "the impostor never joined")
        await poll_until(reactor, lambda: NOT_BELIEVED in impostor.log_text(), 60,
                         "the impostor's log never said it was not believed:\n"
                         + impostor.log_text()[-4000:])
        line = next(li for li in impostor.log_text().splitlines() if NOT_BELIEVED in li)
        self.assertIn(x_overlay_key.hex(), line)
        self.assertNotIn(NOT_BELIEVED, x.log_text())

        mention = post(c.keys, "hello x", tags=[("p", x.keys.public.hex())])
        self.assertEqual((await c.publish(mention))[0], 200)
        await cluster.wait_in_timeline(x, mention.id, "the mention never reached X")
        # Watched for a while: nothing brings it to the impostor (not the unicast, not a share
        # answer asked in X's name).
        deadline = reactor.seconds() + WATCH_IMPOSTOR_SECONDS
        while reactor.seconds() < deadline:
            held = [e.id for e in await impostor.timeline()]
            self.assertNotIn(mention.id, held, "the impostor got X's mention")
            await task.deferLater(reactor, 0.5, lambda: None)
