"""``nostrp2p status`` as one screen a person reads: the status document of the admin endpoint
(docs/STATUS.md), laid out in words."""

from __future__ import annotations

from ..admin.status import in_words
from ..binding.status import utc_time


def _who(entry: dict) -> str:
    npub = entry.get("owner_npub")
    return npub if npub else "(owner not known) overlay key " + entry["overlay_key"][:16] + "…"


def _contacts(title: str, entries: list, empty: str) -> list[str]:
    lines = [f"{title} ({len(entries)})" if entries else f"{title}: {empty}"]
    for entry in entries:
        where = entry.get("address") or ("via " + entry["via"][:16] + "…" if entry.get("via") else "")
        heard = entry.get("last_heard_seconds_ago")
        heard = f"  heard {in_words(heard)} ago" if heard is not None else ""
        lines.append(f"  {_who(entry)}  {where}{heard}")
    return lines


def render_status(status: dict) -> str:
    relay = status["relay"]
    boot = status["bootstrap"]
    if boot["addresses"]:
        bootstrap = ", ".join(f"{b['address']} ({'answered' if b['answered'] else 'no answer yet'})"
                              for b in boot["addresses"])
        if boot["given"] and [b["address"] for b in boot["addresses"]] != boot["given"]:
            bootstrap += f"  [given as {', '.join(boot['given'])}]"
    else:
        bootstrap = "none given: " + boot.get("advice", "")
    public = ", ".join(status["public_addresses"]) or "not known yet"
    lines = [
        f"NostrP2P {status['version']}, up {in_words(status['uptime_seconds'])}",
        f"owner           {status['owner_npub']}",
        f"overlay key     {status['overlay_key']}",
        f"binding         {binding_text(status)}",
        f"overlay         UDP {status['listen']}; REST {status['rest']}",
        f"bootstrap       {bootstrap}",
        f"public address  {public} (NAT: {status['nat_type']})",
        f"reachable       {status['reachability_text']}",
        "",
    ]
    lines += _contacts("Neighbours", status["neighbours"], "none")
    lines += _contacts("Sessions", status["sessions"], "none")
    lines += _contacts("Reached through relays", status["relayed"], "none")
    lines += [
        "",
        f"relay traffic   {relay['frames_passed_on']} frames passed on for others "
        f"({relay['pairs_now']} pairs now, up to {relay['kib_per_second']} KiB/s); "
        f"{relay['frames_received_through_relays']} received through relays",
        f"events held     {_count(status['events_held'])}",
        f"resend queue    {_count(status['resend_queue'])}",
    ]
    failures = status["delivery_failures"]
    if failures:
        lines.append("last delivery failures")
        for failure in failures:
            lines.append(f"  {in_words(failure['seconds_ago'])} ago, to {failure['owner_npub']}: "
                         f"{failure['why']}")
    else:
        lines.append("last delivery failures: none")
    if status["warnings"]:
        lines += ["", "Warnings"] + [f"  ! {w}" for w in status["warnings"]]
    else:
        lines += ["", "No warnings."]
    return "\n".join(lines) + "\n"


def _count(value) -> str:
    return "not known (the event store does not answer)" if value is None else str(value)


def binding_text(status: dict) -> str:
    """bound until 2027-11-30 17:00 UTC; expired on ...; unbound, with what to do."""
    state, until = status.get("binding"), status.get("binding_expires_at")
    if state == "bound" and until:
        return f"bound until {utc_time(until)}"
    if state == "expired" and until:
        return f"expired on {utc_time(until)}: bind again with `nostrp2p bind` (docs/BINDING.md)"
    return "unbound: other servers cannot tell it from an impostor; `nostrp2p bind` (docs/BINDING.md)"
