"""The status document (``GET /status`` on the admin socket, ``nostrp2p status --json``), and
the warnings in words it carries. docs/STATUS.md describes every field."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..nostr.keys import nip19_encode
from . import limits
from .mesh_view import Contact, MeshView
from .watch import NetworkWatch

NO_BOOTSTRAP_ADVICE = (
    "no --bootstrap given: this server joins nobody and waits for others to join it. To join a "
    "network, restart it with --bootstrap HOST:PORT (or a DNS name) of a server already in it; "
    "or give this server's address to others as their bootstrap")

REACHABILITY_TEXT = {
    "direct": "directly: servers reach it at its public address (no NAT in the way, or a "
              "forwarded port)",
    "hole-punching": "directly once hole punching has opened the NAT (it keeps one public "
                     "address for every peer)",
    "relayed": "mostly through relays: the NAT gives each peer a different public address "
               "(symmetric), so only servers with an open address reach this one directly",
    "unknown": "not known yet: fewer than two servers have said where they see this one",
}


@dataclass
class Facts:
    """Everything the status is made of, gathered by the admin service at one moment."""

    now: float
    version: str
    owner: bytes
    started_at: float
    view: MeshView
    watch: NetworkWatch
    bootstrap_given: tuple[str, ...] = ()
    rest: str = ""
    events_held: int | None = None
    resend_queue: int | None = None
    failures: list = field(default_factory=list)  # (when, destination owner key, why)
    store_ready: bool = False
    binding: object = None  # the server's BindingStatus (nostrp2p.binding), or None: unbound


def in_words(seconds: float) -> str:
    """12 seconds, 1 minute, 12 minutes, 3 hours, 2 days."""
    seconds = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def address_text(address) -> str:
    if not address:
        return ""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _key(owner: bytes | None) -> dict:
    if owner is None:
        return {"owner": None, "owner_npub": None}
    return {"owner": owner.hex(), "owner_npub": nip19_encode("npub", owner)}


def _contact(contact: Contact, now: float) -> dict:
    out = {"overlay_key": contact.overlay_key.hex(), **_key(contact.owner_key),
           "address": address_text(contact.address)}
    if contact.last_heard is not None:
        out["last_heard_seconds_ago"] = round(max(0.0, now - contact.last_heard), 1)
    if contact.via is not None:
        out["via"] = contact.via.hex()
    return out


def reachability(view: MeshView) -> str:
    public = view.public_addresses()
    nat = view.nat_type()
    listen = view.listen_address()
    if not public or nat == "unknown":
        return "unknown"
    if nat == "endpoint-dependent":
        return "relayed"
    if listen is not None and public[0][1] == listen[1]:
        return "direct"
    return "hole-punching"


def warnings(facts: Facts) -> list[str]:
    view, now = facts.view, facts.now
    out = []
    if not view.running():
        out.append("the overlay is not running")
    alone = facts.watch.alone_for(now)
    bootstrap = view.bootstrap()
    if alone is not None and alone >= limits.ALONE_WARNING_SECONDS:
        lasting = f"no neighbours for {in_words(alone)}"
        if not bootstrap:
            out.append(f"{lasting}: {NO_BOOTSTRAP_ADVICE}")
        else:
            silent = [a for a in bootstrap if a not in facts.watch.bootstrap_answered]
            if silent:
                names = ", ".join(address_text(a) for a in silent)
                verb = "does" if len(silent) == 1 else "do"
                out.append(f"{lasting}: bootstrap {names} {verb} not answer (is it running, and "
                           f"is UDP to it let through?)")
            else:
                out.append(f"{lasting}: the bootstrap servers answered before but are not "
                           f"neighbours now; the server keeps trying")
    elif not bootstrap and not view.neighbours():
        out.append(NO_BOOTSTRAP_ADVICE)
    if not facts.store_ready:
        out.append("the event store is not ready: the REST API does not answer yet")
    if reachability(view) == "relayed":
        out.append("other servers reach this one mostly through relays (symmetric NAT): "
                   "forwarding the overlay's UDP port on the router makes it reachable directly")
    return out


def build_status(facts: Facts) -> dict:
    view, now = facts.view, facts.now
    counters = view.counters()
    overlay_key = view.overlay_key()
    answered = facts.watch.bootstrap_answered
    alone = facts.watch.alone_for(now)
    reach = reachability(view)
    return {
        "version": facts.version,
        **_key(facts.owner),
        "overlay_key": overlay_key.hex() if overlay_key else None,
        "binding": facts.binding.state if facts.binding is not None else "unbound",
        "binding_expires_at": facts.binding.expires_at if facts.binding is not None else None,
        "uptime_seconds": round(now - facts.started_at, 1),
        "listen": address_text(view.listen_address()),
        "rest": facts.rest,
        "bootstrap": {
            "given": list(facts.bootstrap_given),
            "addresses": [{"address": address_text(a), "answered": tuple(a) in answered}
                          for a in view.bootstrap()],
            **({} if view.bootstrap() else {"advice": NO_BOOTSTRAP_ADVICE}),
        },
        "neighbours": [_contact(c, now) for c in view.neighbours()[: limits.NEIGHBOURS_SHOWN]],
        "seconds_without_neighbours": None if alone is None else round(alone, 1),
        "sessions": [_contact(c, now) for c in view.sessions()[: limits.NEIGHBOURS_SHOWN]],
        "relayed": [_contact(c, now) for c in view.relayed()[: limits.RELAYED_SHOWN]],
        "public_addresses": [address_text(a) for a in view.public_addresses()],
        "nat_type": view.nat_type(),
        "reachability": reach,
        "reachability_text": REACHABILITY_TEXT[reach],
        "relay": {
            "kib_per_second": view.relay_bytes_per_second() // 1024,
            "frames_passed_on": counters.get("relayed", 0),
            "frames_received_through_relays": counters.get("relayed_received", 0),
            "pairs_now": view.relay_pairs(),
        },
        "events_held": facts.events_held,
        "resend_queue": facts.resend_queue,
        "delivery_failures": [
            {"at": round(when, 3), "seconds_ago": round(max(0.0, now - when), 1),
             **_key(target), "why": why}
            for when, target, why in list(facts.failures)[-limits.RECENT_FAILURES_SHOWN:][::-1]
        ],
        "warnings": warnings(facts),
    }
