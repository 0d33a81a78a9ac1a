"""The admin endpoint's HTTP resources: ``GET /status`` (JSON) and ``GET /metrics``
(Prometheus text format, written by prometheus_client)."""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource

from .status import build_status


class _Status(Resource):
    isLeaf = True

    def __init__(self, facts):
        super().__init__()
        self.facts = facts

    def render_GET(self, request):
        facts = self.facts()
        request.setHeader(b"content-type", b"application/json")
        if facts is None:
            request.setResponseCode(503)
            return json.dumps({"error": "the server is starting"}).encode()
        return json.dumps(build_status(facts), indent=1).encode() + b"\n"


class _Metrics(Resource):
    isLeaf = True

    def __init__(self, registry):
        super().__init__()
        self.registry = registry

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(self.registry)


def admin_resource(facts, registry) -> Resource:
    root = Resource()
    root.putChild(b"status", _Status(facts))
    root.putChild(b"metrics", _Metrics(registry))
    return root
