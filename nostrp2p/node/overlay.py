"""What the node needs of the overlay. The mesh package provides it (broadcast now, unicast and
requests with the unicast issue); nothing here knows how."""

from __future__ import annotations

from zope.interface import Interface


class UnicastFailed(Exception):
    """A unicast or request did not reach the destination's server (unknown key, unreachable,
    timed out): the caller may queue it for a later retry."""


class IOverlay(Interface):
    def broadcast(payload):
        """Send ``payload`` (bytes) to every server of the overlay."""

    def send(owner_key, payload):
        """Deliver ``payload`` to the server of ``owner_key`` (32 bytes). Deferred that fires
        when the destination acknowledged it, or fails with :class:`UnicastFailed`."""

    def request(owner_key, payload):
        """Send a request to the server of ``owner_key``; Deferred of its reply bytes, or a
        :class:`UnicastFailed` failure."""

    def neighbours():
        """Owner keys of the servers this one holds authenticated sessions with as overlay
        neighbours now (at most a handful)."""

    def set_handlers(on_broadcast, on_message, on_request):
        """Register the node's callbacks: ``on_broadcast(payload, origin_owner_key, via)``
        (the origin only claimed; ``via`` the overlay key of the neighbour that handed it over),
        ``on_message(payload, origin_owner_key, via)`` for unicasts, and
        ``on_request(payload, origin_owner_key, via)`` returning the reply bytes or a Deferred
        of them. For unicasts and requests too the owner key is only claimed, and ``via`` is the
        overlay key of the authenticated session they arrived on (the origin's own, relayed or not): the
        one identity budgets may be keyed by."""

    def follow(owner_key):
        """Receive the posts of the author ``owner_key`` from now on (join its channel; its
        recent posts come with the join)."""

    def unfollow(owner_key):
        """Stop receiving the posts of ``owner_key`` (leave its channel)."""

    def publish_to_followers(payload):
        """Send ``payload`` (bytes) down this server's own channel, to its followers' servers."""

    def set_channel_handler(on_post):
        """Register ``on_post(author_owner_key, payload)``: a post down a followed author's
        channel (the author is the channel's; the events in it are only claimed to be its)."""
