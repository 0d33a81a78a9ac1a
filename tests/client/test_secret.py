"""Where the secret key is read from, and that a bad one is refused without being repeated."""

from __future__ import annotations

import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.client.errors import ClientError
from nostrp2p.client.secret import SECRET_ENV, load_key_pair
from nostrp2p.nostr import KeyPair

KEYS = KeyPair.generate()


def _no_prompt(question):
    raise AssertionError("prompted although the key was given")


class SecretTests(SynchronousTestCase):
    def _file(self, text: str) -> str:
        fd, path = tempfile.mkstemp()
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_file_first_then_environment_then_prompt(self):
        other = KeyPair.generate()
        path = self._file(KEYS.nsec + "\n")
        self.assertEqual(load_key_pair(path, {SECRET_ENV: other.nsec}, _no_prompt), KEYS)
        self.assertEqual(load_key_pair(None, {SECRET_ENV: other.secret.hex()}, _no_prompt), other)
        self.assertEqual(load_key_pair(None, {}, lambda q: " " + KEYS.nsec + " "), KEYS)

    def test_refusals_do_not_repeat_the_key(self):
        # The checksum's last character changed (to another one: "x" ends one nsec in 32).
        broken = KEYS.nsec[:-1] + ("x" if KEYS.nsec[-1] != "x" else "y")
        cases = [
            (lambda: load_key_pair(None, {SECRET_ENV: KEYS.npub}, _no_prompt), "public key"),
            (lambda: load_key_pair(None, {SECRET_ENV: broken}, _no_prompt), "not an nsec"),
            (lambda: load_key_pair(self._file("x" * 5000), {}, _no_prompt), "too long"),
            (lambda: load_key_pair("/nonexistent/key", {}, _no_prompt), "cannot read"),
            (lambda: load_key_pair(None, {}, _eof), "no secret key"),
        ]
        for call, expected in cases:
            with self.assertRaises(ClientError) as caught:
                call()
            self.assertIn(expected, str(caught.exception))
            self.assertNotIn(KEYS.nsec[5:20], str(caught.exception))


def _eof(question):
    raise EOFError
