"""Serving the API on an endpoint string: ``tcp:20001:interface=127.0.0.1`` or, with TLS,
``ssl:20001:privateKey=key.pem:certKey=cert.pem`` (see etc/nostrp2p.conf)."""

from __future__ import annotations

from twisted.application import strports
from twisted.application.service import Service

from .site import ApiSite


def api_site(resource, on_request=None, reactor=None) -> ApiSite:
    return ApiSite(resource, on_request, reactor=reactor)


def api_service(resource, endpoint_description: str, reactor=None) -> Service:
    """A service listening on the endpoint while running. A bad description raises
    ValueError (from Twisted's endpoint parser) here, before anything starts."""
    if reactor is None:
        from twisted.internet import reactor
    service = strports.service(endpoint_description, api_site(resource), reactor=reactor)
    service.setName("rest")
    return service
