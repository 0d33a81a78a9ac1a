"""The relay's bounds attacked: a thousand subscriptions, too many connections from one
address, a flood of EVENTs or REQs faster than the store answers, and a reader that never
reads. Each is refused with its NIP-01 answer and the server keeps serving others."""


from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.trial import unittest

from nostrp2p.api import limits
from nostrp2p.api.relay import RelaySettings
from nostrp2p.store.testing import start_test_store

from ...e2e.cluster import poll_until
from ..helpers import async_test, post
from .helpers import connect, start_relay
from .test_malformed import still_serves


class GatedStore:
    """A real store whose writes and queries wait until the test opens the gate."""

    def __init__(self, store):
        self._store = store
        self.gate = Deferred()

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def add(self, event):
        await self.gate
        return await self._store.add(event)

    async def query(self, event_filter):
        await self.gate
        return await self._store.query(event_filter)


class SubscriptionBoundTests(unittest.TestCase):
    @async_test
    async def test_a_thousand_subscriptions_each_get_an_answer_and_few_stay_open(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        await client.next_of("AUTH")
        for i in range(1000):
            client.send_json(["REQ", f"s{i}", {"kinds": [1]}])
        answers = {}
        while len(answers) < 1000:
            message = await client.next()
            self.assertIn(message[0], ("EOSE", "CLOSED"), message)
            self.assertNotIn(message[1], answers)
            answers[message[1]] = message
        refused = [m for m in answers.values() if m[0] == "CLOSED"]
        self.assertTrue(all(m[2].startswith("rate-limited: ") for m in refused), refused[:3])
        open_now = [m for m in answers.values() if m[0] == "EOSE"]
        self.assertLessEqual(len(open_now), limits.MAX_SUBSCRIPTIONS)
        self.assertGreater(len(open_now), 0)
        connection, = relay.relay.hub.connections
        self.assertLessEqual(len(connection.subscriptions), limits.MAX_SUBSCRIPTIONS)
        # The open ones are live.
        event = post(1732400000)
        client.send_json(["EVENT", event.to_json()])
        live = set()
        while len(live) < len(open_now):
            message = await client.next()
            if message[0] == "EVENT":
                live.add(message[1])
        self.assertEqual(live, {m[1] for m in open_now})

    @async_test
    async def test_one_subscription_over_the_limit_is_closed_until_one_is_closed(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        for i in range(limits.MAX_SUBSCRIPTIONS):
            client.send_json(["REQ", f"s{i}", {"kinds": [1]}])
            await client.until_eose(f"s{i}")
        client.send_json(["REQ", "one-more", {"kinds": [1]}])
        answer = await client.next_of("CLOSED")
        self.assertEqual(answer[1], "one-more")
        self.assertTrue(answer[2].startswith("rate-limited: at most"), answer)
        client.send_json(["REQ", "s0", {"kinds": [0]}])  # replacing one is fine
        await client.until_eose("s0")
        client.send_json(["CLOSE", "s1"])
        await client.next_of("CLOSED")
        client.send_json(["REQ", "one-more", {"kinds": [1]}])
        await client.until_eose("one-more")


class ConnectionBoundTests(unittest.TestCase):
    @async_test
    async def test_connections_per_address_are_bounded(self):
        relay = await start_relay(self, RelaySettings(max_connections_per_address=3))
        clients = [await connect(self, relay) for _ in range(3)]
        with self.assertRaises(Exception) as refused:
            await connect(self, relay)
        self.assertIn("429", str(refused.exception))
        clients[0].transport.loseConnection()
        await clients[0].closed
        await poll_until(reactor, lambda: relay.connections() == 2, 10, "not released")
        await still_serves(self, relay, clients[1])


class DeadConnectionTests(unittest.TestCase):
    @async_test
    async def test_a_connection_that_stops_answering_pings_is_dropped_and_its_slot_freed(self):
        # autobahn's timers run in whole seconds: pinged after 1 s idle, 2 s to answer.
        relay = await start_relay(self, RelaySettings(max_connections_per_address=3,
                                                      ping_interval_seconds=1,
                                                      ping_timeout_seconds=2))
        awake = await connect(self, relay)
        gone = await connect(self, relay)
        await gone.next_of("AUTH")
        gone.transport.pauseProducing()  # a laptop gone to sleep: nothing answers any more
        await poll_until(reactor, lambda: relay.connections() == 1, 15,
                         "a connection that answers no ping was kept")
        # The one that answers its pings stays, and the dead one's slot is free again.
        clients = [awake, await connect(self, relay), await connect(self, relay)]
        for client in clients:
            client.send_json(["REQ", "alive", {"limit": 1}])
            await client.until_eose("alive")
        self.assertEqual(relay.connections(), 3)


class InFlightBoundTests(unittest.TestCase):
    @async_test
    async def test_events_beyond_the_writes_in_flight_are_rate_limited(self):
        store = GatedStore(await start_test_store(self))
        relay = await start_relay(self, RelaySettings(max_writes_in_flight=4), store=store)
        client = await connect(self, relay)
        await client.next_of("AUTH")
        events = [post(1732400000 + i, f"flood {i}") for i in range(10)]
        for event in events:
            client.send_json(["EVENT", event.to_json()])
        refusals = [await client.next_of("OK") for _ in range(6)]
        self.assertEqual([r[1] for r in refusals], [e.id_hex for e in events[4:]])
        self.assertTrue(all(not r[2] and r[3].startswith("rate-limited: ") for r in refusals))
        store.gate.callback(None)
        accepted = [await client.next_of("OK") for _ in range(4)]
        self.assertEqual(sorted(a[1] for a in accepted), sorted(e.id_hex for e in events[:4]))
        self.assertTrue(all(a[2] for a in accepted))
        self.assertEqual(await store.count(), 4)

    @async_test
    async def test_reqs_beyond_the_queries_in_flight_are_rate_limited(self):
        store = GatedStore(await start_test_store(self))
        relay = await start_relay(self, RelaySettings(max_queries_in_flight=2), store=store)
        client = await connect(self, relay)
        await client.next_of("AUTH")
        for i in range(5):  # the same id again and again: each replaces the last
            client.send_json(["REQ", "loop", {"kinds": [1], "limit": i + 1}])
        for _ in range(3):
            answer = await client.next_of("CLOSED")
            self.assertTrue(answer[2].startswith("rate-limited: "), answer)
        store.gate.callback(None)
        connection, = relay.relay.hub.connections
        await poll_until(reactor, lambda: connection.queries_in_flight == 0, 10, "stuck")
        client.send_json(["REQ", "after", {"kinds": [1]}])
        await client.until_eose("after")


class BetweenStoredAndLiveTests(unittest.TestCase):
    async def _req_waiting_on_the_store(self):
        store = GatedStore(await start_test_store(self))
        relay = await start_relay(self, store=store)
        client = await connect(self, relay)
        await client.next_of("AUTH")
        client.send_json(["REQ", "s", {"kinds": [1]}])
        connection, = relay.relay.hub.connections
        await poll_until(reactor, lambda: connection.queries_in_flight == 1, 10, "no query")
        return store, relay, client

    async def _nothing_more(self, client):
        client.send_json(["REQ", "probe", {"ids": ["00" * 32]}])
        self.assertEqual(await client.next(), ["EOSE", "probe"])

    @async_test
    async def test_an_event_stored_after_the_read_but_before_eose_follows_the_eose(self):
        store, relay, client = await self._req_waiting_on_the_store()
        # Stored just after the query read the store: not in the answer, told to the hub.
        late = post(1732400000, "stored between the read and the EOSE")
        relay.node.listeners[0](late)
        store.gate.callback(None)
        self.assertEqual(await client.until_eose("s"), [])
        self.assertEqual(await client.next(), ["EVENT", "s", late.to_json()])
        await self._nothing_more(client)

    @async_test
    async def test_an_event_both_in_the_answer_and_told_live_is_sent_once(self):
        store, relay, client = await self._req_waiting_on_the_store()
        both = post(1732400000, "stored while the query waited")
        await store._store.add(both)
        relay.node.listeners[0](both)
        store.gate.callback(None)
        self.assertEqual(await client.until_eose("s"), [both.to_json()])
        await self._nothing_more(client)


class SlowReaderTests(unittest.TestCase):
    timeout = 120

    @async_test
    async def test_a_reader_that_never_reads_is_closed_and_costs_a_bounded_queue(self):
        bound = 256 * 1024
        relay = await start_relay(self, RelaySettings(max_outgoing_bytes=bound))
        slow = await connect(self, relay)
        slow.send_json(["REQ", "all", {"kinds": [1]}])
        await slow.until_eose("all")
        slow.transport.pauseProducing()  # never reads again: the socket buffers fill up
        slow_side = next(iter(relay.relay.hub.connections))
        writer = await connect(self, relay)
        await writer.next_of("AUTH")
        content = "x" * 60_000
        highest = 0
        published = 0
        deadline = reactor.seconds() + 90
        while slow_side in relay.relay.hub.connections:
            self.assertLess(reactor.seconds(), deadline, "the slow reader was never closed")
            event = post(1732400000 + published, content + str(published))
            writer.send_json(["EVENT", event.to_json()])
            answer = await writer.next_of("OK")
            self.assertTrue(answer[2], answer)  # the writer is served all along
            published += 1
            if slow_side.outbox is not None:
                highest = max(highest, slow_side.outbox.queued_bytes)
        self.assertLessEqual(highest, bound)
        self.assertEqual(slow_side.outbox.queued_bytes, 0)  # dropped at once
        self.assertFalse(slow_side.subscriptions)
        slow.transport.resumeProducing()
        code, reason = await slow.closed
        self.assertEqual(code, 1008, reason)
        self.assertIn("too slow", reason)
        await still_serves(self, relay, writer)
