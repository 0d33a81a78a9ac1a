"""The admin endpoint's HTTP resources: ``GET /status`` (JSON) and ``GET /metrics``
(Prometheus text format, written by prometheus_client)."""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource

from .status import build_status


class _Page(Resource):
    """One GET page: ``make()`` gives (status code, content type, body)."""

    isLeaf = True

    def __init__(self, make):
        super().__init__()
        self.make = make

    def render_GET(self, request):
        code, content_type, body = self.make()
        request.setResponseCode(code)
        request.setHeader(b"content-type", content_type)
        return body


def _status_page(facts):
    def make():
        current = facts()
        if current is None:
            return 503, b"application/json", b'{"error": "the server is starting"}\n'
        return 200, b"application/json", json.dumps(build_status(current), indent=1).encode() + b"\n"
    return make


def admin_resource(facts, registry) -> Resource:
    root = Resource()
    root.putChild(b"status", _Page(_status_page(facts)))
    root.putChild(b"metrics", _Page(lambda: (200, CONTENT_TYPE_LATEST.encode(),
                                             generate_latest(registry))))
    return root
