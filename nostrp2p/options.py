"""``twistd nostrp2p`` command-line options.

A mistake in them (or in the config file) ends the command with one line, the reason, and
status 1; the full usage is printed only for ``--help``.
"""

from __future__ import annotations

from typing import NoReturn

from twisted.python import usage

from .config import (
    DEFAULT_MAX_EVENTS, DEFAULT_OVERLAY_HOST, DEFAULT_OVERLAY_PORT, DEFAULT_RESEND_BASE_SECONDS,
    DEFAULT_DELIVERY, DEFAULT_RELAY_KIB_PER_SECOND, DEFAULT_RESEND_CHECK_SECONDS, ConfigError, build_config,
    read_config_file,
)

def fail(reason: str) -> NoReturn:
    """End the command with the reason on one line on stderr and status 1 (twistd would print
    its whole usage before a UsageError's reason)."""
    raise SystemExit(f"nostrp2p: {reason}")


# Flags whose presence on the command line means True; absent, the config file decides.
_FLAGS = ("deny-write", "debug", "private-reads")


class ServerOptions(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "Runs a NostrP2P server: the owner's mobile client talks REST to it, and it talks to "
        "other users' servers over an encrypted UDP overlay. Values may come from a config file "
        "(--config, see etc/nostrp2p.conf); options on the command line win over the file. "
        "Bind the server to its owner once: `nostrp2p bind --datadir DIR` with the owner's nsec "
        "on standard input, or publish a binding from the client (docs/BINDING.md); until "
        "then it runs unbound, and other servers cannot tell it from an impostor."
    )

    optParameters = [
        ["config", "c", None, "Config file (INI, section [nostrp2p], keys = long option names)."],
        ["pubkey", "p", None, "Owner's public key, npub1... or 64 hex characters (required)."],
        ["listen", "l", None,
         f"Overlay UDP address and port [default: {DEFAULT_OVERLAY_HOST}:{DEFAULT_OVERLAY_PORT}]."],
        ["rest", "r", None,
         "REST API and Nostr relay (ws://, wss:// with TLS) endpoint, a Twisted endpoint "
         "string: tcp:PORT:interface=ADDR, or ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem for TLS "
         "[default: overlay port + 1 on the overlay's interface]."],
        ["datadir", None, None,
         "Directory for the overlay key, the owner binding, the embedded Redis and its files "
         "[default: $STATE_DIRECTORY, else ~/.nostrp2p]."],
        ["redis", None, None,
         "Use this Redis instead of the embedded one: redis://HOST:PORT/DB or unix:/PATH "
         "[default: empty, start and supervise an embedded redis-server in the data directory]."],
        ["max-events", None, None, f"Events kept at most; the oldest go first [default: {DEFAULT_MAX_EVENTS}]."],
        ["log-json", None, None,
         "Also write the log to this file, one JSON object per line (time, level, namespace, "
         "message and the event's values) [default: none]."],
        ["network-password", None, None,
         "Pre-shared password of a private overlay; servers without it cannot join or read "
         "[default: none, the public overlay]."],
        ["resend-base-seconds", None, None,
         "Unit of the resend backoff: an undelivered mention or reaction is retried after "
         f"BASE x 2^n seconds, n = 1..10, then dropped [default: {DEFAULT_RESEND_BASE_SECONDS:g}]."],
        ["resend-check-seconds", None, None,
         f"How often the resend queue is looked at [default: {DEFAULT_RESEND_CHECK_SECONDS:g}]."],
        ["relay-kib-per-second", None, None,
         "KiB per second this server passes on for servers that cannot reach each other "
         f"directly; 0 relays nothing [default: {DEFAULT_RELAY_KIB_PER_SECOND}]."],
        ["delivery", None, None,
         "How the owner's posts, reposts and profile go out: broadcast (to every server) or "
         "followers (down the owner's channel to the servers of its followers; this server then "
         "keeps only what its owner follows). Both modes receive their follows' posts either way "
         f"[default: {DEFAULT_DELIVERY}; see docs/SCALING.md]."],
    ]
    optFlags = [
        ["deny-write", "w", "Refuse writes from the client (for a bootstrap server); reads still work."],
        ["debug", "d", "Log at debug level."],
        ["private-reads", None, "The WebSocket relay answers REQs only to a connection "
         "authenticated (NIP-42 AUTH) as the owner; REST /req stays open to the owner's app."],
    ]

    def __init__(self):
        super().__init__()
        self.bootstrap: list[str] = []
        self.stun_servers: list[str] = []
        self.config = None

    def parseOptions(self, options=None):
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            fail(f"{e} (twistd nostrp2p --help lists the options)")

    def opt_version(self):
        """Print the version and exit."""
        from .version import VERSION
        print(f"nostrp2p {VERSION}")
        raise SystemExit(0)

    def opt_bootstrap(self, address):
        """HOST:PORT of a server already in the overlay, to join through (repeatable; a DNS
        name gives all its addresses, each tried)."""
        self.bootstrap.append(address)

    opt_b = opt_bootstrap

    def opt_stun_server(self, address):
        """HOST:PORT of a standard STUN server to ask for this server's public address
        (repeatable) [default: none; the overlay's own peers tell it anyway]."""
        self.stun_servers.append(address)

    def postOptions(self):
        values: dict[str, object] = {}
        try:
            if self["config"]:
                values.update(read_config_file(self["config"]))
            for name, *_ in self.optParameters:
                if name != "config" and self[name] is not None:
                    values[name] = self[name]
            for name in _FLAGS:
                if self[name]:
                    values[name] = True
            if self.bootstrap:
                values["bootstrap"] = self.bootstrap
            if self.stun_servers:
                values["stun-server"] = self.stun_servers
            self.config = build_config(values)
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None
