"""How long to wait for the eager copy of an announced message before grafting its announcer.

A fixed second made every message that reached a server only through an IHAVE arrive one to
two seconds late (the tail of publish-to-visible). The eager copy of a message is late by the
time it spends on the tree's longer path, a few round trips, so the wait follows the round
trips measured to the announcer (the unicast layer's smoothed RTT): GRAFT_RTT_FACTOR of them
plus four deviations, never below GRAFT_TIMEOUT_MIN (a burst of work on the sender must not
look like a lost copy, which would graft a redundant eager link and send duplicates), never
above GRAFT_TIMEOUT; GRAFT_TIMEOUT_UNMEASURED while no round trip to the announcer is known.
"""

from __future__ import annotations

from nostrp2p.mesh import limits


def graft_timeout(round_trip) -> float:
    """The wait for one announcer; ``round_trip`` is its unicast RoundTrip, or None."""
    if round_trip is None or round_trip.srtt is None:
        return limits.GRAFT_TIMEOUT_UNMEASURED
    wait = limits.GRAFT_RTT_FACTOR * round_trip.srtt + 4 * round_trip.rttvar
    return min(limits.GRAFT_TIMEOUT, max(limits.GRAFT_TIMEOUT_MIN, wait))
