"""The `nostrp2p` command: keys a person can use and check."""

import contextlib
import io
import subprocess
import sys

import bech32
from twisted.trial.unittest import TestCase

from nostrp2p.cli import main
from nostrp2p.nostr.signing import xonly_public_key
from nostrp2p.version import VERSION


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _lines(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def _bech32_payload(text, prefix):
    hrp, words = bech32.bech32_decode(text)
    assert hrp == prefix
    return bytes(bech32.convertbits(words, 5, 8, False))


class GenkeyTests(TestCase):
    def test_prints_a_consistent_pair_and_the_warning(self):
        code, out, _ = run("genkey")
        self.assertEqual(code, 0)
        fields = _lines(out)
        secret = bytes.fromhex(fields["Secret Key (hex)"])
        public = bytes.fromhex(fields["Public Key (hex)"])
        # Decoded by the reference bech32 implementation, independently of our NIP-19 code.
        self.assertEqual(_bech32_payload(fields["Secret Key"], "nsec"), secret)
        self.assertEqual(_bech32_payload(fields["Public Key"], "npub"), public)
        self.assertEqual(xonly_public_key(secret), public)
        self.assertIn("client only", out)

    def test_two_runs_differ(self):
        self.assertNotEqual(run("genkey")[1], run("genkey")[1])

    def test_a_reader_that_stops_early_gets_no_traceback(self):
        # ``nostrp2p genkey | head -1``: the reader closes the pipe before the key is written.
        command = subprocess.Popen([sys.executable, "-m", "nostrp2p", "genkey"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        command.stdout.close()
        errors = command.stderr.read()
        command.stderr.close()
        self.assertEqual(command.wait(), 1)
        self.assertEqual(errors, b"")


class KeyDecodeTests(TestCase):
    npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
    nsec = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
    pub_hex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"

    def test_npub_to_hex(self):
        code, out, _ = run("key", "decode", self.npub)
        self.assertEqual((code, _lines(out)["Public Key (hex)"]), (0, self.pub_hex))

    def test_nsec_shows_its_public_key(self):
        code, out, _ = run("key", "decode", self.nsec)
        self.assertEqual(_lines(out)["Public Key"], self.npub)
        self.assertIn("client only", out)

    def test_hex_shows_both_readings(self):
        code, out, _ = run("key", "decode", self.pub_hex)
        self.assertEqual(_lines(out)["As a public key"], self.npub)

    def test_garbage_is_a_clear_error(self):
        code, out, err = run("key", "decode", "npub1notakey")
        self.assertEqual((code, out), (2, ""))
        self.assertIn("bech32", err)


class VersionTests(TestCase):
    def test_version_is_the_installed_one(self):
        out = io.StringIO()
        with self.assertRaises(SystemExit) as caught:
            with contextlib.redirect_stdout(out):
                main(["--version"])
        self.assertEqual(caught.exception.code, 0)
        self.assertEqual(out.getvalue().strip(), f"nostrp2p {VERSION}")
        self.assertNotEqual(VERSION, "unknown")  # scripts/test installs the package
