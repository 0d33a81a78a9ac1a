"""Eight real servers on loopback in followers mode (``--delivery followers``), each its own
process with its own Redis, driven only through REST: an author's post reaches the servers of
its followers down the author's channel and never a server whose owner does not follow it; a
follower stopped during a post gets it after it returns; a new follow brings the recent posts."""

from __future__ import annotations

from twisted.internet import reactor, task
from twisted.trial.unittest import TestCase

from .test_servers import Cluster, post

FOLLOWERS = ("--delivery", "followers")
NAMES = "abcdefg"


def follow_list(keys, *followed):
    return post(keys, "", tags=[("p", k.public.hex()) for k in followed], kind=3)


class FollowersServersTests(TestCase):
    timeout = 400

    async def _eight(self) -> Cluster:
        cluster = Cluster(self)
        cluster.add("boot", "--deny-write", *FOLLOWERS)
        for name in NAMES:
            cluster.add(name, *FOLLOWERS)
        await cluster.start("boot")
        for name in NAMES:
            await cluster.start(name, bootstrap=["boot"])
        return cluster

    async def _publish(self, server, event):
        code, body = await server.publish(event)
        self.assertEqual(code, 200, body)

    async def _holds(self, server, author, event) -> bool:
        held = await server.req({"kinds": [event.kind], "authors": [author.keys.public.hex()]})
        return any(e.id == event.id for e in held)

    async def test_followers_get_the_post_and_nobody_else_stores_it(self):
        c = await self._eight()
        a, b, cc, d, e = (c.servers[n] for n in "abcde")
        await self._publish(b, follow_list(b.keys, a.keys))
        await self._publish(cc, follow_list(cc.keys, a.keys))
        await self._publish(d, follow_list(d.keys, e.keys))  # D follows someone else
        await task.deferLater(reactor, 3, lambda: None)  # the joins go out

        first = post(a.keys, "to my followers")
        await self._publish(a, first)
        await c.wait_holds(b, {"kinds": [1], "authors": [a.keys.public.hex()]}, first.id,
                           "B, following A, did not get A's post")
        await c.wait_holds(cc, {"kinds": [1], "authors": [a.keys.public.hex()]}, first.id,
                           "C, following A, did not get A's post")

        # C is stopped while A posts, and gets the post once it is back.
        await cc.stop(reactor)
        while_away = post(a.keys, "while C was away")
        await self._publish(a, while_away)
        await c.wait_holds(b, {"kinds": [1], "authors": [a.keys.public.hex()]}, while_away.id,
                           "B did not get A's second post")
        await c.start("c", bootstrap=["boot"])
        await c.wait_holds(cc, {"kinds": [1], "authors": [a.keys.public.hex()]}, while_away.id,
                           "C did not get the post made while it was away")

        # E starts following A later, and gets A's recent posts.
        await self._publish(e, follow_list(e.keys, a.keys))
        for event in (first, while_away):
            await c.wait_holds(e, {"kinds": [1], "authors": [a.keys.public.hex()]}, event.id,
                               "E, following A late, did not get A's recent posts")

        # D, whose owner does not follow A, never stored either post (it may have carried them).
        for event in (first, while_away):
            self.assertFalse(await self._holds(d, a, event))
        for name in "fg":
            self.assertFalse(await self._holds(c.servers[name], a, first))
