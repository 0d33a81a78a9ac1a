"""A small internet in network namespaces, with real Linux NAT routers, for NAT traversal tests.

                       inet (bridge, 198.18.0.0/24: the "public internet")
          +---------------+-----------------+-----------------+
        public        nat-cone-a         nat-cone-b        nat-symmetric
      198.18.0.1     198.18.0.11        198.18.0.12        198.18.0.13
                         |                  |                  |
                      host-a             host-b             host-s
                   198.19.1.2          198.19.2.2         198.19.3.2

Routers MASQUERADE their LAN behind their WAN address: Linux keeps the source port when it can,
which makes an endpoint-independent mapping (a "cone"); ``--random-fully`` picks a new port per
destination, which is what a symmetric NAT does. Addresses are from 198.18.0.0/15 (RFC 2544,
for test networks), and no packet leaves the namespaces this module creates. Needs root,
``ip`` and ``iptables``; :func:`unavailable_reason` says why a lab cannot be built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Router:
    name: str
    wan: str
    lan_net: str
    symmetric: bool


ROUTERS = (
    Router("nat-cone-a", "198.18.0.11", "198.19.1", False),
    Router("nat-cone-b", "198.18.0.12", "198.19.2", False),
    Router("nat-symmetric", "198.18.0.13", "198.19.3", True),
)
PUBLIC_ADDRESS = "198.18.0.1"
HOSTS = {"host-a": ROUTERS[0], "host-b": ROUTERS[1], "host-s": ROUTERS[2]}


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 iptables)"
    probe = f"npprobe{os.getpid()}"
    created = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if created.returncode != 0:
        return f"ip netns add failed: {created.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class NatLab:
    """Create with :meth:`build`, run commands with :meth:`exec`, always :meth:`destroy`."""

    def __init__(self, tag: str | None = None):
        # A per-process prefix keeps concurrent runs (and leftovers of crashed ones) apart.
        self.prefix = f"np{tag or os.getpid()}-"
        self.namespaces: list[str] = []

    def ns(self, name: str) -> str:
        return self.prefix + name

    def _run(self, *argv: str) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")

    def _in(self, name: str, *argv: str) -> None:
        self._run("ip", "netns", "exec", self.ns(name), *argv)

    def _add_ns(self, name: str) -> None:
        self._run("ip", "netns", "add", self.ns(name))
        self.namespaces.append(self.ns(name))
        self._in(name, "ip", "link", "set", "lo", "up")

    def _veth(self, a: str, a_if: str, b: str, b_if: str) -> None:
        # veth names are per-namespace once moved, but are created in the root namespace first:
        # give them unique temporary names there.
        tmp_a, tmp_b = f"{self.prefix}{a_if}"[:15], f"{self.prefix}{b_if}x"[:15]
        self._run("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        self._run("ip", "link", "set", tmp_a, "netns", self.ns(a))
        self._run("ip", "link", "set", tmp_b, "netns", self.ns(b))
        self._in(a, "ip", "link", "set", tmp_a, "name", a_if)
        self._in(b, "ip", "link", "set", tmp_b, "name", b_if)
        self._in(a, "ip", "link", "set", a_if, "up")
        self._in(b, "ip", "link", "set", b_if, "up")

    def build(self) -> "NatLab":
        try:
            self._build()
        except Exception:
            self.destroy()
            raise
        return self

    def _build(self) -> None:
        self._add_ns("inet")
        self._in("inet", "ip", "link", "add", "br0", "type", "bridge")
        self._in("inet", "ip", "link", "set", "br0", "up")

        self._add_ns("public")
        self._veth("public", "wan", "inet", "p-pub")
        self._in("inet", "ip", "link", "set", "p-pub", "master", "br0")
        self._in("public", "ip", "addr", "add", f"{PUBLIC_ADDRESS}/24", "dev", "wan")
        self._in("public", "ip", "link", "set", "lo", "up")  # servers talk to themselves too

        for i, router in enumerate(ROUTERS):
            self._add_ns(router.name)
            self._veth(router.name, "wan", "inet", f"p-r{i}")
            self._in("inet", "ip", "link", "set", f"p-r{i}", "master", "br0")
            self._in(router.name, "ip", "addr", "add", f"{router.wan}/24", "dev", "wan")
            self._in(router.name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
            masquerade = ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"]
            if router.symmetric:
                masquerade.append("--random-fully")
            self._in(router.name, *masquerade)
            # A NAT admits from outside only what answers traffic that went out, for its LAN and
            # for itself, like a home router's firewall. Dropping unsolicited input matters for
            # punching: a packet the router accepted for itself leaves a conntrack entry that
            # makes MASQUERADE move the LAN host's answer to another port (docs/NAT.md).
            for chain in ("FORWARD", "INPUT"):
                self._in(router.name, "iptables", "-A", chain, "-i", "wan", "-m", "conntrack",
                         "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
                self._in(router.name, "iptables", "-A", chain, "-i", "wan", "-j", "DROP")

        for host, router in HOSTS.items():
            self._add_ns(host)
            self._veth(host, "eth0", router.name, "lan")
            self._in(router.name, "ip", "addr", "add", f"{router.lan_net}.1/24", "dev", "lan")
            self._in(host, "ip", "addr", "add", f"{router.lan_net}.2/24", "dev", "eth0")
            self._in(host, "ip", "route", "add", "default", "via", f"{router.lan_net}.1")
            self._in(host, "ip", "link", "set", "lo", "up")

    def exec_argv(self, name: str, argv: list[str]) -> list[str]:
        """The argv that runs ``argv`` inside namespace ``name``."""
        return ["ip", "netns", "exec", self.ns(name), *argv]

    def destroy(self) -> None:
        for namespace in reversed(self.namespaces):
            # Killing what still runs inside, then deleting the namespace, removes its veths.
            pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        self.namespaces.clear()


def lab_for(testcase) -> NatLab:
    """A built lab for ``testcase``, destroyed after it; the test is skipped with the reason
    when this machine cannot build one."""
    from twisted.trial.unittest import SkipTest

    reason = unavailable_reason()
    if reason:
        raise SkipTest(reason)
    lab = NatLab().build()
    testcase.addCleanup(lab.destroy)
    return lab
