"""The help text of every counter the overlay, the node and the store keep, by the name they
keep it under. A counter named ``x`` is exported as ``nostrp2p_<layer>_x_total``; the overlay's
``drop_*`` counters as ``nostrp2p_overlay_dropped_total{reason}`` and its ``nat_*`` counters as
``nostrp2p_overlay_nat_type_changes_total{type}``. docs/METRICS.md lists them all; a test checks
that every counter in the code is named here, so none is exported without help."""

OVERLAY = {
    "datagrams_received": "Datagrams that arrived on the overlay's UDP socket.",
    "payload_sent": "Datagrams sent that carry broadcast payloads.",
    "control_sent": "Datagrams sent for the overlay itself (handshakes, membership, routing, "
                    "acknowledgements, relaying).",
    "send_errors": "Datagrams the operating system refused to send (unreachable network, bad "
                   "address).",
    "sessions_established": "Encrypted sessions established with other servers (rekeys "
                            "included).",
    "handshake_failed": "Handshakes that got no answer after every retry.",
    "cookie_sent": "INITs answered with a COOKIE frame instead of a handshake (under load, a "
                   "source over its share, or a repeated INIT).",
    "cookie_received": "COOKIE frames this server's handshakes were answered with.",
    "peer_timed_out": "Sessions closed because the other server went silent.",
    "peer_address_changed": "Sessions whose peer moved to a new address (roaming, a new NAT "
                            "mapping).",
    "delivered": "Broadcast messages delivered to this server's node layer.",
    "duplicate_gossip": "Broadcast messages received again (already delivered).",
    "graft_sent": "Requests for a broadcast message announced but not received.",
    "missing_table_full": "Announced broadcast messages forgotten because the table of missing "
                          "ones was full.",
    "unicast_messages_delivered": "Unicast messages delivered to this server's node layer.",
    "unicast_delivered": "Unicast messages from other servers received complete.",
    "unicast_acknowledged": "Unicast messages this server sent that the destination "
                            "acknowledged.",
    "unicast_failed": "Unicast messages this server sent that did not get through.",
    "unicast_retransmitted": "Unicast fragments sent again for want of an acknowledgement.",
    "unicast_duplicate": "Unicast fragments received again.",
    "unicast_rehandshake": "Sessions renewed because a unicast destination stopped answering.",
    "lookup_relay_queries": "Queries lookups sent on for the relays of a server found without "
                            "them that did not answer our handshake within a second.",
    "lookup_relay_queries_skipped": "Lookups that found a server without its relays and asked "
                                    "nobody for them: it answered directly, or nobody was "
                                    "trying to reach it.",
    "routing_relays_changed": "Times this server announced a new set of relays.",
    "lookup_bound_queries": "Lookups asked on for a bound server after meeting only an unbound "
                            "claim of the owner.",
    "bindings_verified": "Owner bindings of other servers verified (each once per overlay key "
                         "and owner).",
    "claim_sent": "Owner bindings this server showed on new sessions (CLAIM messages).",
    "claim_unanswered": "Sessions whose peer never answered this server's CLAIM.",
    "claim_not_believed": "Owner claims not believed: the owner's binding names another server.",
    "own_owner_bound_elsewhere": "Times this server learnt that its owner bound another "
                                 "server (warned in the log).",
    "relay_route_chosen": "Times a relay was chosen to reach a server not reachable directly.",
    "relay_routes_given_up": "Messages to a server last reached directly given up after "
                             "RELAY_SILENT_MAX relays said nothing (most likely down).",
    "relay_refused": "Frames a relay refused to carry for this server.",
    "relayed": "Frames this server passed on for other servers (relay traffic carried).",
    "relayed_received": "Frames that reached this server through a relay.",
    "punch_requested": "Introductions asked for, to open a NAT towards another server.",
    "punch_introduced": "Introductions this server made between two of its peers.",
    "punch_answered": "Handshakes sent towards a server this one was introduced to.",
    "punch_timed_out": "Hole punching attempts that got no answer.",
    "reflexive_address_changed": "Times a peer reported a new public address for this server.",
    "whoami_sent": "Peers asked where they see this server (WHOAMI): each new one until a few "
                   "agree, then about one a minute.",
    "reflexive_unsettled": "Times a report unsettled this server's public address or NAT "
                           "behaviour (a change: peers are asked again at once).",
    "stun_answered": "STUN Binding requests this server answered.",
    "stun_answered_us": "Answers from STUN servers telling this server its public address.",
    "stun_timed_out": "STUN requests to a STUN server that got no answer.",
    "channel_published": "Posts of this server's owner sent down its own channel.",
    "channel_post_sent": "Channel posts passed on to children (copies this server sent).",
    "channel_post_bytes_received": "Payload bytes of channel posts received (copies included).",
    "channel_delivered": "Channel posts of followed authors delivered to this server's node layer.",
    "channel_post_duplicate": "Channel posts received again (already held).",
    "channel_post_old_epoch": "Channel posts of an author's earlier numbering (its server "
                              "restarted since).",
    "channel_control_sent": "Channel messages other than posts sent (joins, heartbeats, pulls, "
                            "answers).",
    "channel_join_sent": "Joins sent toward an author's server.",
    "channel_joined": "Joins accepted by a parent.",
    "channel_join_failed": "Joins that got no answer, or were refused, before the next candidate.",
    "channel_join_located": "Joins sent to the author's server found by a lookup (no nearer "
                            "contact).",
    "channel_root_rejoin": "Tries to join an author's server again after losing it as our "
                           "parent (its children wait for it rather than join elsewhere).",
    "channel_former_child_called": "Children this server had in its own channel before it "
                                   "restarted, called back as it started.",
    "channel_former_child_silent": "Of those, children that did not answer: their own children "
                                   "were warned.",
    "channel_root_key_outdated": "Posts that did not check against the root's key kept from "
                                 "before a restart (its owner moved server): the root was looked "
                                 "up again.",
    "channel_root_called_back": "Times an author's server back from a restart told this server it "
                                "was no longer its child: it joined it again at once.",
    "channel_child_displaced": "Children this server, full, sent one level down to make room for "
                               "a joiner with a taller subtree.",
    "channel_displaced": "Times this server's parent sent it one level down to make room for a "
                         "taller subtree.",
    "channel_join_postponed": "Channels left without a parent for a while (no candidate left).",
    "channel_join_pushed_down": "Joins this server redirected to one of its children (its children"
                                " were full).",
    "channel_join_pushed_up": "Joins this server, full, sent on to its parent (they came by "
                              "their route; the parent takes them or pushes them down).",
    "channel_join_refused": "Joins this server refused (the joiner's share of channels, or its own"
                            " parent).",
    "channel_join_refused_full": "Joins for a new channel refused: this server is in as many "
                                 "channels as it takes.",
    "channel_child_added": "Children taken in a channel.",
    "channel_child_dropped": "Children dropped (left, silent, or unreachable).",
    "channel_parent_lost": "Parents lost (silent, unreachable or dropped us); the channel was "
                           "joined again.",
    "channel_parent_forgot": "Parents that no longer knew this server as their child (they "
                             "restarted).",
    "channel_pull_sent": "Pulls of missing channel posts sent to a parent.",
    "channel_pull_root": "Pulls of missing channel posts sent to the author's server directly.",
    "channel_pull_answered": "Channel posts sent again to a server that pulled them.",
    "channel_gap_unfilled": "Channel posts given up for now: no one asked held them.",
    "channel_gap_retried": "Channels whose posts given up were asked for again (the root may "
                           "be back).",
    "channel_pull_elsewhere": "Pulls of missing channel posts sent to a server up the path or "
                              "nearer the author, the root being away.",
    "channel_child_unresponsive": "Children dropped for leaving a post unacknowledged "
                                  "(crashed forwarders).",
    "channel_child_lost_warned": "Dropped children whose own children this server warned (CHECK).",
    "channel_parent_checked": "Warnings (CHECK) taken: this server asked its parent with a "
                              "heartbeat.",
    "channel_check_ignored": "Warnings ignored: not about this server's parent, or a check "
                             "already under way.",
    "channel_parent_silent": "Parents that did not answer a check in time; this server joined "
                             "the warner.",
    "channel_cycle_refused": "Joins or parents refused because the path to the root passes "
                             "through this server (a loop).",
    "channel_heartbeat_sent": "Heartbeats sent to a parent (only with news, or after a silence).",
    "channel_moved_up": "Times this server moved up in a channel's tree: handed up by a parent "
                        "that forwards it without following its author, invited up by a "
                        "grandparent with room, or moved by a full ancestor toward room higher "
                        "up.",
    "channel_invite_sent": "Grandchildren this server invited to be its children, having room "
                           "in their channel (keeps trees shallow).",
    "channel_level_sent": "Members at the bottom of a child's subtree this server, full, moved "
                          "toward room under another child, at least CHANNEL_LEVEL_GAIN levels "
                          "higher (keeps trees shallow).",
    "channel_move_declined": "Moves an ancestor asked of this server that it declined: the "
                             "room was taken meanwhile and it would have come out no higher.",
    "channel_post_held": "Channel posts that came before the root's key was known: held to be "
                         "checked once it is.",
    "channel_epoch_unproven": "Channel numberings claimed by a parent (ACCEPT, STATE) given up "
                              "for an older one that a post of the root's proved.",
}

OVERLAY_DROPPED = "Datagrams, frames and outgoing messages the overlay dropped, by reason (see " \
                  "docs/METRICS.md)."
OVERLAY_NAT_CHANGES = "Times the NAT type this server classified itself behind changed, by the " \
                      "new type."

NODE = {
    "stored": "Events from other servers stored.",
    "duplicates": "Events from other servers already held.",
    "bad_signature": "Events from other servers refused: the signature does not verify.",
    "kind_refused": "Events from other servers refused: a kind this server does not keep.",
    "not_addressed_here": "Events from other servers refused: a mention, reply or reaction "
                          "addressed to another server.",
    "future_refused": "Events from other servers refused: dated too far in the future.",
    "peer_rate_limited": "Events refused: the sending server is over its rate.",
    "author_rate_limited": "Events refused: the author is over its rate.",
    "malformed": "Overlay payloads that are not a valid node message.",
    "unexpected": "Node messages of a type not expected on the way they came.",
    "too_large": "Events not broadcast: larger than the overlay carries.",
    "broadcast_failed": "Broadcasts the overlay could not send.",
    "unicast_delivered": "Replies, mentions and reactions delivered to their server at once.",
    "resend_queued": "Replies, mentions and reactions put in the resend queue.",
    "resend_delivered": "Items of the resend queue delivered on a retry.",
    "resend_dropped": "Items of the resend queue given up after the last retry.",
    "fetch_sent": "Requests sent to an author's server for events a client asked for.",
    "fetch_failed": "Such requests that got no answer.",
    "fetch_over_client_budget":
        "Such requests not sent: the reading client address is over its budget.",
    "share_asked": "Times this server asked its neighbours for the events of the last days.",
    "share_ask_failed": "Neighbours asked for those events that did not answer.",
    "share_trimmed": "Answers to such requests trimmed to the overlay's size limit.",
    "share_broadcast_ignored": "Broadcast share requests (of older servers) ignored: answers "
                               "go only to whoever asks on a session.",
    "mode_probed": "Followed authors' servers asked their delivery mode (a broadcast-mode server "
                   "joins only the channels of those in followers mode).",
    "mode_probe_failed": "Such questions that got no answer (asked again the next hour).",
    "broadcast_not_by_origin": "Broadcasts dropped unread: they carried events not signed by "
                               "the owner they came from.",
    "share_rate_limited": "Such requests refused: the asking server is over its rate.",
    "request_rate_limited": "Requests refused: the asking server is over its rate.",
    "answer_failed": "Requests from other servers that could not be answered.",
    "busy_dropped": "Work dropped because too much was in progress.",
    "store_failed": "Node operations that failed on the store.",
    "followed": "Authors whose channels this server joined (the owner's follow list named them).",
    "unfollowed": "Authors whose channels this server left (no longer in the owner's follow list).",
    "not_followed": "Events from other servers not stored in followers mode: neither by a followed"
                    " author nor naming the owner.",
    "channel_not_followed": "Channel posts of an author the owner does not follow (a stale join) "
                            "not stored.",
    "not_the_channels_author": "Events in a channel post not signed by the channel's author, not "
                               "stored.",
    "follow_list_unread": "Times the owner's follow list could not be read at start (no channels "
                          "joined then).",
    "channel_publish_failed": "Posts the overlay could not send down the owner's channel.",
}

STORE = {
    "added": "Events written to the store.",
    "duplicates": "Events offered to the store that it already held.",
    "trimmed": "Oldest events removed to keep within --max-events.",
    "corrupt": "Records in Redis that could not be decoded (skipped).",
    "timeline_hits": "Queries answered from the in-memory timeline.",
    "timeline_misses": "Queries that had to read Redis.",
}
