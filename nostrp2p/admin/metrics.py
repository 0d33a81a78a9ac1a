"""Prometheus metrics of one server, made with prometheus_client: a registry of its own (never
the process-global one), holding

- a collector that turns the overlay's, the node's and the store's counters and the status
  gauges into metric families at each scrape (the counters stay plain Counters in their layers,
  so nothing there depends on prometheus_client);
- the REST API's request counter, incremented as requests finish;
- prometheus_client's own process collector (CPU, memory, open files).

docs/METRICS.md lists every name.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

from . import limits, metric_names
from .status import Facts, reachability

PREFIX = "nostrp2p"
UNDOCUMENTED = "Counter not described in docs/METRICS.md yet."
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _counter_family(layer: str, name: str, value, helps: dict) -> CounterMetricFamily:
    metric = f"{PREFIX}_{layer}_{_NOT_NAME.sub('_', name)}"
    family = CounterMetricFamily(metric, helps.get(name, UNDOCUMENTED))
    family.add_metric([], value)
    return family


def _gauge(name: str, help_text: str, value, unit: str = "") -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", help_text, value=value, unit=unit)


def overlay_families(counters: dict) -> list:
    dropped = CounterMetricFamily(f"{PREFIX}_overlay_dropped", metric_names.OVERLAY_DROPPED,
                                  labels=["reason"])
    nat = CounterMetricFamily(f"{PREFIX}_overlay_nat_type_changes",
                              metric_names.OVERLAY_NAT_CHANGES, labels=["type"])
    out = [dropped, nat]
    for name, value in sorted(counters.items()):
        if name.startswith("drop_"):
            dropped.add_metric([name[len("drop_"):]], value)
        elif name.startswith("nat_"):
            nat.add_metric([name[len("nat_"):]], value)
        else:
            out.append(_counter_family("overlay", name, value, metric_names.OVERLAY))
    return out


class ServerCollector:
    """Reads the server at each scrape through ``facts()`` (a :class:`Facts`, or None before
    the server is started), ``node()`` and ``store()`` (None until they exist)."""

    def __init__(self, facts, node, store):
        self.facts = facts
        self.node = node
        self.store = store

    def collect(self):
        facts: Facts | None = self.facts()
        if facts is None:
            return
        view = facts.view
        info = InfoMetricFamily(f"{PREFIX}_server", "This server: version, owner and overlay key.")
        overlay_key = view.overlay_key()
        info.add_metric([], {"version": facts.version, "owner": facts.owner.hex(),
                             "overlay_key": overlay_key.hex() if overlay_key else ""})
        yield info
        yield _gauge("start_time_seconds", "When this server started, unix time.",
                     facts.started_at)
        yield _gauge("overlay_neighbours", "Active neighbours (the servers broadcasts go to).",
                     len(view.neighbours()))
        yield _gauge("overlay_sessions", "Servers with an established direct session.",
                     len(view.sessions()))
        yield _gauge("overlay_relayed_servers", "Servers reached only through a relay just now.",
                     len(view.relayed()))
        yield _gauge("overlay_relay_pairs", "(origin, destination) pairs this server passes "
                     "traffic on for just now.", view.relay_pairs())
        alone = facts.watch.alone_for(facts.now)
        yield _gauge("overlay_without_neighbours_seconds", "How long the server has had no "
                     "neighbours; 0 while it has some.", alone or 0.0)
        nat = GaugeMetricFamily(f"{PREFIX}_overlay_nat_type", "1 for the NAT type this server "
                                "classified itself behind.", labels=["type"])
        nat.add_metric([view.nat_type()], 1)
        yield nat
        reach = GaugeMetricFamily(f"{PREFIX}_overlay_reachability", "1 for how other servers "
                                  "reach this one (direct, hole-punching, relayed, unknown).",
                                  labels=["how"])
        reach.add_metric([reachability(view)], 1)
        yield reach
        yield from overlay_families(view.counters())
        node = self.node()
        if node is not None:
            for name, value in sorted(node.counters.items()):
                yield _counter_family("node", name, value, metric_names.NODE)
            yield _gauge("node_tasks_in_flight", "Node work in progress (stores, deliveries, "
                         "answers).", len(node.tasks))
        store = self.store()
        if store is not None:
            for name, value in sorted(store.counters.items()):
                yield _counter_family("store", name, value, metric_names.STORE)
            yield _gauge("store_timeline_events", "Events in the in-memory timeline window.",
                         len(store.timeline))
            yield _gauge("store_timeline", "Size of the events in the in-memory timeline "
                         "window.", store.timeline.size_bytes, unit="bytes")
        if facts.events_held is not None:
            yield _gauge("store_events", "Events held in the store.", facts.events_held)
        if facts.resend_queue is not None:
            yield _gauge("node_resend_queue_items", "Replies, mentions and reactions waiting "
                         "for a retry.", facts.resend_queue)


class ApiMetrics:
    """Counts the REST API's finished requests by endpoint, method and status code (each label
    from a fixed set, see limits.API_ENDPOINTS and API_METHODS)."""

    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter(f"{PREFIX}_api_requests", "REST API requests answered, by "
                                "endpoint, method and status code.",
                                ["endpoint", "method", "code"], registry=registry)

    def request_finished(self, request) -> None:
        path = request.path.decode("latin-1", "replace") if request.path else ""
        endpoint = path if path in limits.API_ENDPOINTS else "other"
        method = request.method.decode("latin-1", "replace") if request.method else ""
        method = method if method in limits.API_METHODS else "other"
        self.requests.labels(endpoint, method, str(int(request.code or 0))).inc()


def make_registry(collector: ServerCollector) -> tuple[CollectorRegistry, ApiMetrics]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(namespace=PREFIX, registry=registry)
    return registry, ApiMetrics(registry)
