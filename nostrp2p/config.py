"""The server's configuration: one frozen value, built from a config file and the command line.

The config file is INI with one ``[nostrp2p]`` section whose keys are the long option names
(see etc/nostrp2p.conf); a value given on the command line wins over the file. Everything is
validated here, so that a mistake is reported before anything starts, in words a person can act
on.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from .nostr.keys import KeyFormatError, parse_public_key

DEFAULT_OVERLAY_HOST = "0.0.0.0"
DEFAULT_OVERLAY_PORT = 20000
DEFAULT_MAX_EVENTS = 100_000
DEFAULT_RESEND_BASE_SECONDS = 300.0
DEFAULT_RESEND_CHECK_SECONDS = 30.0
DEFAULT_RELAY_KIB_PER_SECOND = 1024
DELIVERY_MODES = ("broadcast", "followers")
# The rule for the default (docs/SCALING.md, "Modes"): broadcast until every server of the
# network runs a version that joins its follows' channels; then followers.
DEFAULT_DELIVERY = "broadcast"
CONFIG_SECTION = "nostrp2p"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the option."""


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ServerConfig:
    owner_pubkey: bytes
    overlay: HostPort
    rest_endpoint: str
    data_dir: Path
    bootstrap: tuple[HostPort, ...] = ()
    redis_url: Optional[str] = None
    deny_write: bool = False
    private_reads: bool = False
    debug: bool = False
    max_events: int = DEFAULT_MAX_EVENTS
    network_password: Optional[str] = field(default=None, repr=False)
    log_json: Optional[Path] = None
    resend_base_seconds: float = DEFAULT_RESEND_BASE_SECONDS
    resend_check_seconds: float = DEFAULT_RESEND_CHECK_SECONDS
    stun_servers: tuple[HostPort, ...] = ()
    relay_kib_per_second: int = DEFAULT_RELAY_KIB_PER_SECOND
    delivery: str = DEFAULT_DELIVERY


def default_data_dir() -> Path:
    # Under systemd, StateDirectory= sets STATE_DIRECTORY; elsewhere keep state in the home.
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    return Path.home() / ".nostrp2p"


def parse_host_port(option: str, text: str) -> HostPort:
    """``host:port`` or ``[v6addr]:port``; the host must be a literal address or a name."""
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"--{option}: expected HOST:PORT (e.g. 192.0.2.1:20000), got {text!r}")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--{option}: port must be a number from 1 to 65535, got {port!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not all(part and len(part) <= 63 and part.replace("-", "").isalnum()
                   for part in host.split(".")):
            raise ConfigError(f"--{option}: {host!r} is neither an IP address nor a host name")
    return HostPort(host, int(port))


def default_rest_endpoint(overlay: HostPort) -> str:
    """The first NostrP2P served REST on the overlay port + 1, on the same interface."""
    port = overlay.port + 1
    if port > 65535:
        raise ConfigError("--listen: the overlay port must leave room for REST on port + 1")
    host = overlay.host.replace(":", "\\:")  # endpoint strings escape colons of IPv6 addresses
    return f"tcp:{port}:interface={host}"


def check_endpoint(description: str) -> str:
    """Refuse an endpoint string Twisted cannot parse (and, for ssl:, missing key files)."""
    from twisted.internet.endpoints import serverFromString

    try:
        # Parsing needs no reactor: the endpoint only keeps a reference to it until listen().
        endpoint = serverFromString(None, description)
    except Exception as e:  # Twisted raises many types here, each a user's mistake
        raise ConfigError(f"--rest: cannot use endpoint {description!r}: {e}") from None
    port = getattr(endpoint, "_port", None)  # tcp: and ssl: endpoints; Twisted checks it late
    if isinstance(port, int) and not 0 <= port <= 65535:
        raise ConfigError(f"--rest: port must be a number from 0 to 65535, got {port}")
    return description


def read_config_file(path: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as e:
        raise ConfigError(f"--config: cannot read {path}: {e.strerror}") from None
    except configparser.Error as e:
        raise ConfigError(f"--config: {path} is not a valid config file: {e}") from None
    if not parser.has_section(CONFIG_SECTION):
        raise ConfigError(f"--config: {path} has no [{CONFIG_SECTION}] section")
    return dict(parser.items(CONFIG_SECTION))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(option: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"--{option}: expected true or false, got {value!r}")


def _whole_number(option: str, value: object, at_least: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"--{option}: expected a whole number, got {value!r}") from None
    if number < at_least:
        raise ConfigError(f"--{option}: must be {at_least} or more, got {number}")
    return number


def _address_list(value) -> list:
    """Repeated on the command line (a list), or one config-file line of HOST:PORT separated by
    spaces or commas."""
    if not value:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return list(value)


def _positive_seconds(option: str, value: object) -> float:
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise ConfigError(f"--{option}: expected a number of seconds, got {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"--{option}: must be a positive number of seconds, got {value!r}")
    return seconds


KNOWN_KEYS = frozenset({
    "listen", "rest", "pubkey", "bootstrap", "deny-write", "debug", "datadir", "redis",
    "max-events", "network-password", "log-json", "resend-base-seconds", "resend-check-seconds",
    "stun-server", "relay-kib-per-second", "private-reads", "delivery",
})


def build_config(values: Mapping[str, object]) -> ServerConfig:
    """A validated :class:`ServerConfig` from option values (long names; absent or None means
    "not given"). ``bootstrap`` is a list of HOST:PORT strings."""
    unknown = set(values) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"unknown option(s): {', '.join(sorted(unknown))}")

    pubkey_text = values.get("pubkey")
    if not pubkey_text:
        raise ConfigError("--pubkey is required: the owner's public key (npub1... or 64 hex)")
    try:
        owner = parse_public_key(str(pubkey_text))
    except KeyFormatError as e:
        raise ConfigError(f"--pubkey: {e}") from None

    overlay = parse_host_port(
        "listen", str(values.get("listen") or f"{DEFAULT_OVERLAY_HOST}:{DEFAULT_OVERLAY_PORT}")
    )
    rest = values.get("rest") or default_rest_endpoint(overlay)

    bootstrap = _address_list(values.get("bootstrap"))
    stun_servers = _address_list(values.get("stun-server"))
    redis_url = values.get("redis") or None
    if redis_url is not None and not str(redis_url).startswith(("redis://", "unix:")):
        raise ConfigError(f"--redis: expected redis://HOST:PORT/DB or unix:/PATH, got {redis_url!r}")

    return ServerConfig(
        owner_pubkey=owner,
        overlay=overlay,
        rest_endpoint=check_endpoint(str(rest)),
        data_dir=Path(str(values.get("datadir") or default_data_dir())).expanduser(),
        bootstrap=tuple(parse_host_port("bootstrap", str(b)) for b in bootstrap),
        stun_servers=tuple(parse_host_port("stun-server", str(b)) for b in stun_servers),
        redis_url=str(redis_url) if redis_url else None,
        deny_write=_bool("deny-write", values.get("deny-write") or False),
        debug=_bool("debug", values.get("debug") or False),
        private_reads=_bool("private-reads", values.get("private-reads") or False),
        max_events=_whole_number("max-events", values.get("max-events") or DEFAULT_MAX_EVENTS, 1),
        network_password=str(values["network-password"]) if values.get("network-password") else None,
        log_json=Path(str(values["log-json"])).expanduser() if values.get("log-json") else None,
        resend_base_seconds=_positive_seconds(
            "resend-base-seconds", values.get("resend-base-seconds") or DEFAULT_RESEND_BASE_SECONDS),
        resend_check_seconds=_positive_seconds(
            "resend-check-seconds", values.get("resend-check-seconds") or DEFAULT_RESEND_CHECK_SECONDS),
        relay_kib_per_second=_whole_number(
            "relay-kib-per-second", _given(values, "relay-kib-per-second", DEFAULT_RELAY_KIB_PER_SECOND), 0),
        delivery=_delivery(values.get("delivery") or DEFAULT_DELIVERY),
    )


def _delivery(value: object) -> str:
    mode = str(value).strip().lower()
    if mode not in DELIVERY_MODES:
        raise ConfigError(f"--delivery: expected one of {', '.join(DELIVERY_MODES)}, got {value!r}")
    return mode


def _given(values: Mapping[str, object], key: str, default: object) -> object:
    """The value of ``key``, or ``default`` when absent or empty (0 is a value)."""
    value = values.get(key)
    return default if value is None or value == "" else value
