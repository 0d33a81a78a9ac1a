"""--bootstrap with a DNS name: every address of the overlay's family is kept, once each."""

from __future__ import annotations

import socket

from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.config import ConfigError, HostPort
from nostrp2p.service import resolve_addresses


def fake_dns(records):
    asked = []

    def getaddrinfo(host, port, family, kind):
        asked.append((host, family))
        if host not in records:
            raise socket.gaierror(-2, "Name or service not known")
        return [(f, kind, 17, "", (address, port) if f == socket.AF_INET else (address, port, 0, 0))
                for f, address in records[host] if family in (0, f)]
    return getaddrinfo, asked


RECORDS = {"boot.example.org": [(socket.AF_INET, "192.0.2.1"), (socket.AF_INET, "192.0.2.2"),
                                (socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"),
                                (socket.AF_INET, "192.0.2.3")]}


class BootstrapNameTests(SynchronousTestCase):
    def test_every_address_of_a_name_is_tried(self):
        getaddrinfo, asked = fake_dns(RECORDS)
        peers = (HostPort("boot.example.org", 20000), HostPort("198.51.100.7", 20001))
        self.assertEqual(resolve_addresses("bootstrap", peers, "0.0.0.0", getaddrinfo),
                         (("192.0.2.1", 20000), ("192.0.2.2", 20000), ("192.0.2.3", 20000),
                          ("198.51.100.7", 20001)))
        self.assertEqual(asked, [("boot.example.org", socket.AF_INET)])

    def test_an_ipv6_overlay_takes_the_aaaa_records(self):
        getaddrinfo, _ = fake_dns(RECORDS)
        self.assertEqual(resolve_addresses("bootstrap", (HostPort("boot.example.org", 20000),),
                                           "::", getaddrinfo),
                         (("2001:db8::1", 20000),))

    def test_a_name_that_does_not_resolve_is_one_clear_error(self):
        getaddrinfo, _ = fake_dns({})
        with self.assertRaises(ConfigError) as caught:
            resolve_addresses("bootstrap", (HostPort("nowhere.example", 1),), "0.0.0.0", getaddrinfo)
        self.assertIn("--bootstrap: cannot resolve 'nowhere.example'", str(caught.exception))
