"""The cost model of docs/SCALING.md: per-home bandwidth and storage per day, and the author's
upload per post, in broadcast and followers mode, for 10^3 to 10^7 users. Arithmetic only (the
simulator's measured figures are bench/followers.py's); the assumptions are the constants below.

    python bench/scaling_model.py [--forwarding 1.0] [--heartbeat 24]
"""

from __future__ import annotations

import argparse
import math
import sys

POSTS_PER_USER_PER_DAY = 5
EVENT_BYTES = 450  # a signed kind 1 event of a sentence or two, as JSON
COPY_BYTES = EVENT_BYTES + 80  # on the wire: session header, AEAD tag, message framing (and its ack)
STORED_BYTES = 1000  # in Redis with its indexes (docs/STORE.md)
DATAGRAM_BYTES = 62  # an overlay datagram with an empty message: header 14, tag 16, framing
HEARTBEAT_ENTRY_BYTES = 45  # one channel in a HEARTBEAT: key 32, epoch, sequence, framing
# Seconds between a quiet child-parent pair's heartbeats: a child sends one only with news or
# after CHANNEL_HEARTBEAT_IDLE of silence (mesh/limits.py); bench/channel_repair.py measures 2.49
# channel messages per pair a minute, 0.21 x the 12 of a heartbeat every 5 s: one every 24 s.
HEARTBEAT_INTERVAL = 24.0
PLUMTREE_COPIES = 1.015  # payload transmissions per server per broadcast (docs/PROTOCOL.md, figures)
EAGER_PEERS = 4.9  # the origin's eager peers: copies an author's home sends per broadcast
CHILDREN_MAX = 16  # mesh.limits.CHANNEL_CHILDREN_MAX
ROUTING_BUCKET = 8  # mesh.limits.ROUTING_BUCKET_SIZE
MAX_EVENTS = 100_000  # --max-events default
DAY = 86400


def mean_follows(users: int, median_followers: int = 20) -> float:
    """Mean follows per user for the issue's Zipf graph: rank r followed by U/2 * r^-s, s such
    that the median author has ``median_followers``."""
    half = users / 2
    s = 1 - math.log(median_followers) / math.log(half)
    total = half * (users ** (1 - s) - 1) / (1 - s) + half  # integral of r^-s from 1 to U, plus r = 1
    return min(users - 1, total / users)


def model(users: int, forwarding: float, heartbeat_interval: float = HEARTBEAT_INTERVAL) -> dict:
    f = mean_follows(users)
    posts = users * POSTS_PER_USER_PER_DAY
    broadcast_down = posts * COPY_BYTES * PLUMTREE_COPIES
    channels = f * (1 + forwarding)  # followed plus forwarded
    parents = min(channels, ROUTING_BUCKET * math.log2(users))  # one parent per channel, from the table
    beats = DAY / heartbeat_interval
    heartbeat = beats * (parents * 2 * DATAGRAM_BYTES + channels * HEARTBEAT_ENTRY_BYTES)
    # A home sends one HEARTBEAT to each parent and acknowledges one from each child (as many on
    # average), and receives as much: the same bytes each way.
    followers_posts = POSTS_PER_USER_PER_DAY * channels * COPY_BYTES
    return {
        "users": users,
        "follows": f,
        "bcast_down_mb": broadcast_down / 1e6,
        "bcast_store_mb": posts * STORED_BYTES / 1e6,
        "bcast_keeps_hours": 24 * MAX_EVENTS / posts,
        "bcast_author_copies": EAGER_PEERS,
        "fol_posts_mb": followers_posts / 1e6,
        "fol_control_mb": heartbeat / 1e6,
        "fol_store_mb": POSTS_PER_USER_PER_DAY * f * STORED_BYTES / 1e6,
        "fol_keeps_days": MAX_EVENTS / (POSTS_PER_USER_PER_DAY * f),
        "fol_author_copies": CHILDREN_MAX,
    }


def _span(hours: float) -> str:
    return f"{hours:,.1f} h" if hours >= 1 else f"{hours * 60:,.0f} min"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forwarding", type=float, default=1.0,
                        help="channels forwarded without following, per follow (bench/followers.py)")
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT_INTERVAL,
                        help="seconds between a child's heartbeats to each parent")
    args = parser.parse_args(argv)
    print("| users | mean follows | broadcast: down (= up) per home per day | broadcast: stored per day "
          "(100k events hold) | followers: down (= up on average) per day: posts + tree upkeep | "
          "followers: stored per day (100k events hold) | author's home, copies per post (broadcast / followers) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for exponent in range(3, 8):
        row = model(10 ** exponent, args.forwarding, args.heartbeat)
        rows.append(row)
        print(f"| 10^{exponent} | {row['follows']:.0f} | {row['bcast_down_mb']:,.0f} MB | "
              f"{row['bcast_store_mb']:,.0f} MB ({_span(row['bcast_keeps_hours'])}) | "
              f"{row['fol_posts_mb']:,.1f} MB + {row['fol_control_mb']:,.0f} MB | "
              f"{row['fol_store_mb']:,.1f} MB ({row['fol_keeps_days']:,.0f} days) | "
              f"{row['bcast_author_copies']:.1f} / ≤ {row['fol_author_copies']} |")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
