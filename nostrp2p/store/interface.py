"""What the rest of the server may ask of the event store.

Two implementations are not planned; the interface exists so that the REST and node layers are
written against a contract (and documented semantics) rather than against Redis commands.
Every method returns a Deferred. Event ids and pubkeys are 32-byte ``bytes``.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IEventStore(Interface):
    def add(event):
        """Store a *verified* :class:`~nostrp2p.nostr.Event`.

        Fires with True when the event was new, False when an event with that id was already
        held (nothing changes then). Fires only after Redis acknowledged the write, so a caller
        may then tell a client "stored" (docs/STORE.md says what survives a crash).
        A kind 0 or 3 event also becomes its author's current profile / follow list when it is
        newer (NIP-01 replaceable rule: newer created_at wins; equal time: lowest id wins).
        """

    def add_all(events):
        """Store several verified events at once (the adds of a reactor turn are written
        together anyway); fires with one bool per event, as :meth:`add` would."""

    def recall(event_ids):
        """What memory knows of these ids, at once and without asking Redis: a pair (set of ids
        certainly held, list of ids perhaps held). The others were not added recently: they
        are probably new, and :meth:`add` still reports a copy of an older event as not new.
        docs/STORE.md: "Do I hold this id?" from memory."""

    def get(event_ids):
        """Fires with the held events among ``event_ids`` (any order; unknown ids are skipped).
        More than ``limits.MAX_GET_IDS`` ids fail with
        :class:`~nostrp2p.store.redis_store.StoreError`."""

    def query(event_filter):
        """Fires with the events matching a :class:`~nostrp2p.nostr.Filter` (full NIP-01
        semantics: ids, authors, kinds, #tags, since, until), newest first (created_at
        descending, ties by id ascending), at most ``event_filter.limit`` of them, and never more
        than the store's own answer cap."""

    def answer_from_memory(event_filter):
        """What :meth:`query` would answer, from memory alone (synchronously, without the
        database: it answers while the database is down), or None when memory cannot tell."""

    def current_profile(pubkey):
        """Fires with the author's current kind 0 event, or None."""

    def current_follow_list(pubkey):
        """Fires with the author's current kind 3 event, or None."""

    def protect_owner(owner):
        """Fires once the profiles and follow lists of ``owner``, of the authors the owner's
        current follow list names and of those the owner's events name are protected from
        eviction (kept up to date as the owner publishes); everyone else's are capped."""

    def last_refreshed(pubkey, what):
        """Fires with the unix time (float) when ``what`` ("profile" or "follows") of that
        author was last fetched from the author's server, or None."""

    def mark_refreshed(pubkey, what, when):
        """Record that ``what`` of that author was fetched at unix time ``when``.
        Another ``what`` fails with :class:`~nostrp2p.store.redis_store.StoreError`; at most
        ``limits.MAX_REFRESH_STAMPS`` authors are remembered per ``what``."""

    def count():
        """Fires with the number of events held."""

    def enqueue_resend(destination, payload, due):
        """Persist an undelivered unicast: ``payload`` bytes for the server of ``destination``
        (an owner pubkey), first retry due at unix time ``due``. Fires with its item id
        (``bytes``). With ``limits.MAX_RESEND_ITEMS`` queued, the item due soonest is dropped
        to make room; a payload over ``limits.MAX_RESEND_PAYLOAD_BYTES`` fails with StoreError."""

    def resend_count():
        """Fires with the number of items in the resend queue."""

    def due_resends(now, limit):
        """Fires with up to ``limit`` queued items (:class:`~nostrp2p.store.resend.ResendItem`:
        item_id, destination, payload, attempts, due) whose due time is <= ``now``."""

    def reschedule_resend(item_id, due):
        """Count one more failed attempt of the item and set its next due time. An item
        that reaches ``limits.MAX_RESEND_ATTEMPTS`` is dropped; an unknown id is ignored."""

    def remove_resend(item_id):
        """Forget an item (delivered, or out of attempts)."""

    timeline = Attribute("The size-capped in-memory window of recent events in front of Redis.")
