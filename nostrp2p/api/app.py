"""The REST API of CLIENT-WIRE.md: POST /publish and POST /req as a Klein app.

``make_api(...)`` builds the resource; ``api_service(...)`` (endpoint.py) serves it.
"""

from __future__ import annotations

import json

from klein import Klein
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.web.resource import Resource
from zope.interface.verify import verifyObject

from ..logging import Logger
from ..nostr import EventError, event_from_json_bytes, filter_from_json, strict_json_loads
from . import limits, reads
from .answers import AnswerEncoder
from .body import accepts_gzip, read_body
from .cors import ALLOWED_METHODS, add_cors_headers
from .errors import ApiError
from .hooks import INodeHooks
from .relay import LiveHub, Relay, RelayRoot, RelaySettings
from .writes import Writer

log = Logger()

SUCCESS_BODY = json.dumps({"Status": "SUCCESS"}).encode("utf-8")


class _Api:
    def __init__(self, store, node, writer: Writer):
        self.store = store
        # tentative: the node layer sits below the API and cannot import INodeHooks to declare
        # it; having the two methods is what counts (a missing one fails here, at startup).
        verifyObject(INodeHooks, node, tentative=True)
        self.node = node
        self.writer = writer
        self.answers = AnswerEncoder()

    async def publish(self, request) -> bytes:
        self.writer.check_writable()
        event = _parse(event_from_json_bytes, read_body(request))
        # A client that hangs up makes Klein cancel this handler; the write and the delivery
        # must still happen together, so they run on their own and are awaited shielded.
        await _shielded(ensureDeferred(self.writer.publish(event)))
        request.setHeader(b"content-type", b"application/json")
        return SUCCESS_BODY

    async def req(self, request) -> bytes:
        event_filter = _parse(lambda body: filter_from_json(strict_json_loads(body)),
                              read_body(request))
        try:
            events = await reads.answer(self.store, event_filter)
        except CancelledError:
            raise  # the client hung up
        except Exception as e:
            log.warn("the store could not answer a /req: {error}", error=repr(e))
            raise ApiError(503, "store", f"the store could not answer: {type(e).__name__}")
        if reads.asks_for_specific(event_filter):
            try:
                self.node.wanted(event_filter, events)
            except Exception:
                log.failure("the node layer failed on a wanted filter")
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"vary", b"Accept-Encoding")
        # A handful of events is smaller than gzip's own overhead.
        gzipped = len(events) >= limits.GZIP_MIN_EVENTS and accepts_gzip(request)
        if gzipped:
            request.setHeader(b"content-encoding", b"gzip")
        return self.answers.encode(events, gzipped)


def _shielded(work: Deferred) -> Deferred:
    """A Deferred firing with ``work``'s result whose cancellation leaves ``work`` running."""
    shield = Deferred()

    def relay(result):
        if not shield.called:
            shield.callback(result)
        # else: cancelled; the result (an ApiError nobody will read) was logged already.

    work.addBoth(relay)
    return shield


def _parse(parser, body: bytes):
    try:
        return parser(body)
    except EventError as e:
        raise ApiError(400, e.field, e.reason) from None
    except ValueError as e:
        # json.loads refuses integers of more than 4300 digits with a bare ValueError.
        raise ApiError(400, "json", str(e)) from None


async def _answer(request, handler) -> bytes:
    body = await _body(request, handler)
    # Known up front, so the answer goes out in one piece instead of chunked.
    request.setHeader(b"content-length", b"%d" % len(body))
    return body


async def _body(request, handler) -> bytes:
    method = request.method
    if method == b"OPTIONS":
        # A preflight: the CORS headers are the whole answer.
        request.setResponseCode(204)
        return b""
    try:
        if method != b"POST":
            request.setHeader(b"allow", ALLOWED_METHODS)
            raise ApiError(405, "method", f"{method.decode('latin-1')} is not allowed; use POST")
        return await handler(request)
    except ApiError as e:
        return _refuse(request, e)


def _refuse(request, error: ApiError) -> bytes:
    log.debug("refused {method} {path}: {status} {field}: {reason}",
              method=request.method, path=request.path, status=error.status,
              field=error.field, reason=error.reason)
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", b"application/json")
    request.responseHeaders.removeHeader(b"content-encoding")
    return error.body()


class _CorsResource(Resource):
    """Adds the CORS headers to every response before Klein renders it, whatever it is."""

    isLeaf = True

    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def render(self, request):
        add_cors_headers(request)
        return self._inner.render(request)


def make_api(store, node, owner_pubkey: bytes, writable: bool, binding=None,
             relay_settings: RelaySettings = RelaySettings(), clock=None) -> Resource:
    """The REST API and the NIP-01 relay interface as a twisted.web resource (serve it with
    :func:`api_service`).

    ``store`` provides IEventStore, ``node`` provides :class:`INodeHooks` (``NoOverlay()``
    without an overlay) and, when it stores events of its own (from the overlay), a
    ``listen(callable)`` that is then called with each; ``owner_pubkey`` is the 32-byte key
    whose events /publish and EVENT accept, ``writable=False`` is deny-write mode (reads
    still work), ``binding`` the server's :class:`~nostrp2p.binding.ServerBinding` (None:
    bindings are refused). ``clock`` (the reactor by default) dates NIP-42 AUTH events.
    """
    if clock is None:
        from twisted.internet import reactor as clock
    hub = LiveHub()
    writer = Writer(store, node, owner_pubkey, writable, on_stored=hub.stored,
                    binding=binding)
    api = _Api(store, node, writer)
    listen = getattr(node, "listen", None)
    if listen is not None:
        listen(hub.stored)
    app = Klein()

    @app.route("/publish", methods=None)
    def publish(request):
        return ensureDeferred(_answer(request, api.publish))

    @app.route("/req", methods=None)
    def req(request):
        return ensureDeferred(_answer(request, api.req))

    @app.route("/", branch=True, methods=None)
    def unknown(request):
        if request.method == b"OPTIONS":
            request.setResponseCode(204)
            return b""
        body = _refuse(request, ApiError(
            404, "path", f"no endpoint {request.path.decode('latin-1')!r}; use /publish or /req"))
        request.setHeader(b"content-length", b"%d" % len(body))
        return body

    relay = Relay(store, node, owner_pubkey, writer, hub, relay_settings, clock)
    return RelayRoot(_CorsResource(app.resource()), relay)
