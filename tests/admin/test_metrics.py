"""/metrics as Prometheus reads it: the text prometheus_client writes, parsed back by
prometheus_client's own parser; and every counter in the code has a documented name."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.admin import metric_names
from nostrp2p.admin.metrics import UNDOCUMENTED, ServerCollector, make_registry
from nostrp2p.admin.status import Facts
from nostrp2p.admin.watch import NetworkWatch

from .fakes import FakeView, contact

PACKAGE = Path(__file__).resolve().parents[2] / "nostrp2p"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "METRICS.md"


def scrape(registry) -> dict:
    """{(sample name, frozenset(labels)): value} and the families' help, by family name."""
    samples, helps = {}, {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        helps[family.name] = (family.type, family.documentation)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, helps


class _Window(list):
    size_bytes = 900


class Server:
    def __init__(self, counters):
        self.view = FakeView(neighbours=[contact(1)], sessions=[contact(1), contact(2)],
                             counters=counters, nat="endpoint-independent")
        self.watch = NetworkWatch(0.0)
        self.watch.sample(self.view, 1.0)
        self.node = SimpleNamespace(counters={"stored": 3, "resend_queued": 1}, tasks=[1, 2])
        self.store = SimpleNamespace(counters={"added": 4, "timeline_hits": 2}, timeline=_Window())

    def facts(self):
        return Facts(now=50.0, version="1.2.3", owner=b"\x07" * 32, started_at=0.0,
                     view=self.view, watch=self.watch, events_held=40, resend_queue=1)


class ExpositionTests(SynchronousTestCase):
    def setUp(self):
        self.server = Server({"datagrams_received": 10, "drop_malformed": 2, "drop_replayed": 1,
                              "nat_endpoint-independent": 1, "relayed": 5})
        self.registry, self.api = make_registry(ServerCollector(
            self.server.facts, lambda: self.server.node, lambda: self.server.store))

    def test_counters_and_gauges_parse_with_their_names_and_help(self):
        samples, helps = scrape(self.registry)
        self.assertEqual(samples[("nostrp2p_overlay_datagrams_received_total", frozenset())], 10)
        self.assertEqual(samples[("nostrp2p_overlay_dropped_total",
                                  frozenset({("reason", "malformed")}))], 2)
        self.assertEqual(samples[("nostrp2p_overlay_dropped_total",
                                  frozenset({("reason", "replayed")}))], 1)
        self.assertEqual(samples[("nostrp2p_overlay_nat_type_changes_total",
                                  frozenset({("type", "endpoint-independent")}))], 1)
        self.assertEqual(samples[("nostrp2p_overlay_relayed_total", frozenset())], 5)
        self.assertEqual(samples[("nostrp2p_node_stored_total", frozenset())], 3)
        self.assertEqual(samples[("nostrp2p_store_added_total", frozenset())], 4)
        self.assertEqual(samples[("nostrp2p_store_events", frozenset())], 40)
        self.assertEqual(samples[("nostrp2p_node_tasks_in_flight", frozenset())], 2)
        self.assertEqual(samples[("nostrp2p_store_timeline_bytes", frozenset())], 900)
        self.assertEqual(samples[("nostrp2p_store_timeline_events", frozenset())], 0)
        self.assertEqual(samples[("nostrp2p_node_resend_queue_items", frozenset())], 1)
        self.assertEqual(samples[("nostrp2p_overlay_neighbours", frozenset())], 1)
        self.assertEqual(samples[("nostrp2p_overlay_sessions", frozenset())], 2)
        self.assertEqual(samples[("nostrp2p_overlay_without_neighbours_seconds", frozenset())], 0)
        self.assertEqual(samples[("nostrp2p_overlay_nat_type",
                                  frozenset({("type", "endpoint-independent")}))], 1)
        self.assertIn(("nostrp2p_process_resident_memory_bytes", frozenset()), samples)
        info = [k for k in samples if k[0] == "nostrp2p_server_info"][0]
        self.assertIn(("version", "1.2.3"), info[1])
        self.assertEqual(helps["nostrp2p_overlay_datagrams_received"][0], "counter")
        self.assertEqual(helps["nostrp2p_overlay_datagrams_received"][1],
                         metric_names.OVERLAY["datagrams_received"])
        self.assertEqual(helps["nostrp2p_overlay_neighbours"][0], "gauge")

    def test_counters_move(self):
        before, _ = scrape(self.registry)
        self.server.view._counters["datagrams_received"] += 5
        self.server.node.counters["stored"] += 1
        after, _ = scrape(self.registry)
        key = ("nostrp2p_overlay_datagrams_received_total", frozenset())
        self.assertEqual(after[key] - before[key], 5)
        key = ("nostrp2p_node_stored_total", frozenset())
        self.assertEqual(after[key] - before[key], 1)

    def test_api_requests_counted_with_bounded_labels(self):
        for path in (b"/publish", b"/publish", b"/req", b"/x1", b"/x2"):
            self.api.request_finished(SimpleNamespace(path=path, method=b"POST", code=200))
        self.api.request_finished(SimpleNamespace(path=b"/req", method=b"BREW", code=405))
        samples, _ = scrape(self.registry)

        def count(endpoint, method, code):
            return samples[("nostrp2p_api_requests_total", frozenset(
                {("endpoint", endpoint), ("method", method), ("code", code)}))]
        self.assertEqual(count("/publish", "POST", "200"), 2)
        self.assertEqual(count("/req", "POST", "200"), 1)
        self.assertEqual(count("other", "POST", "200"), 2)  # any path: one label value
        self.assertEqual(count("/req", "other", "405"), 1)

    def test_nothing_before_the_server_started(self):
        registry, _ = make_registry(ServerCollector(lambda: None, lambda: None, lambda: None))
        samples, _ = scrape(registry)
        self.assertFalse([k for k in samples if k[0].startswith("nostrp2p_overlay")])


class NamesTests(SynchronousTestCase):
    """A counter added to the code without help text (and a line in docs/METRICS.md) fails
    here: it would be exported with UNDOCUMENTED as its help."""

    def _names(self, folder: str, pattern: str) -> set:
        found = set()
        for path in (PACKAGE / folder).rglob("*.py"):
            if "sim" in path.parts:
                continue
            found |= set(re.findall(pattern, path.read_text()))
        return found

    def test_every_overlay_counter_is_documented(self):
        names = self._names("mesh", r'(?:count\(|stats\[)"([a-z_]+)"')
        names |= {"send_errors", "stun_answered"}  # kept by MeshService itself
        undocumented = {n for n in names if not n.startswith(("drop_", "nat_"))} - set(metric_names.OVERLAY)
        self.assertEqual(undocumented, set())

    def test_every_node_and_store_counter_is_documented(self):
        self.assertEqual(self._names("node", r'counters\["([a-z_]+)"\]') - set(metric_names.NODE), set())
        store = self._names("store", r'counters\["([a-z_]+)"\]')
        store |= set(re.findall(r'"([a-z_]+)": 0', (PACKAGE / "store" / "redis_store.py").read_text()))
        self.assertEqual(store - set(metric_names.STORE), set())

    def test_the_docs_name_every_metric(self):
        text = DOCS.read_text()
        for layer, table in (("overlay", metric_names.OVERLAY), ("node", metric_names.NODE),
                             ("store", metric_names.STORE)):
            for name in table:
                self.assertIn(f"nostrp2p_{layer}_{name}_total", text)
        for reason in self._names("mesh", r'"drop_([a-z_]+)"'):
            self.assertIn(f"`{reason}`", text, f"drop reason {reason} not in docs/METRICS.md")

    def test_undocumented_help_is_what_a_new_counter_gets(self):
        registry, _ = make_registry(ServerCollector(
            lambda: Server({"brand_new_thing": 1}).facts(), lambda: None, lambda: None))
        _, helps = scrape(registry)
        self.assertEqual(helps["nostrp2p_overlay_brand_new_thing"][1], UNDOCUMENTED)
