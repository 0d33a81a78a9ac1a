"""`nostrp2p bind`: the owner's secret key in on standard input, a binding for the data
directory's overlay key out, and the secret nowhere on disk or in what was printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SkipTest, TestCase

from nostrp2p.binding import ServerBinding
from nostrp2p.binding.file import read_binding
from nostrp2p.binding.overlay_key import OVERLAY_KEY_FILE, overlay_public_key
from nostrp2p.cli import main
from nostrp2p.nostr import KeyPair
from nostrp2p.nostr.binding import pack_binding
from nostrp2p.nostr.binding_cache import BindingCache

OWNER = KeyPair.from_secret(bytes.fromhex("61" * 32))
OTHER = KeyPair.from_secret(bytes.fromhex("62" * 32))


class BindCommandTests(TestCase):
    def setUp(self):
        self.data_dir = os.path.abspath(os.path.join(self.mktemp(), "data"))

    def bind(self, *extra, stdin=OWNER.nsec + "\n"):
        self.patch(sys, "stdin", io.StringIO(stdin))
        out, err = io.StringIO(), io.StringIO()
        code = main(["bind", "--datadir", self.data_dir, *extra], out, err)
        return code, out.getvalue(), err.getvalue()

    def assertSecretNowhere(self, *printed):
        forms = [OWNER.nsec.encode(), OWNER.secret.hex().encode(),
                 OWNER.secret.hex().upper().encode(), OWNER.secret]
        for name in os.listdir(self.data_dir):
            with open(os.path.join(self.data_dir, name), "rb") as handle:
                content = handle.read()
            for form in forms:
                self.assertNotIn(form, content, f"the secret key is in {name}")
        for text in printed:
            for form in forms[:3]:
                self.assertNotIn(form.decode(), text)

    def test_binds_the_overlay_key_in_the_data_directory(self):
        code, out, err = self.bind()
        self.assertEqual((code, err), (0, ""))
        overlay = overlay_public_key(self.data_dir)
        binding = read_binding(self.data_dir)
        # What another server will do with it: verify it against the claim.
        BindingCache().verify(pack_binding(binding), overlay, OWNER.public, binding.created_at)
        self.assertIn(overlay.hex(), out)
        self.assertIn(OWNER.npub, out)
        self.assertEqual(os.stat(self.data_dir).st_mode & 0o777, 0o700)
        self.assertSecretNowhere(out, err)
        # The server, started on that directory, runs bound.
        clock = Clock()
        clock.advance(binding.created_at)
        server = ServerBinding(self.data_dir, overlay, OWNER.public, clock)
        with capturedLogs():
            self.assertEqual(server.load().state, "bound")

    def test_a_second_bind_replaces_the_first_with_a_higher_sequence(self):
        self.bind()
        first = read_binding(self.data_dir)
        self.assertEqual(self.bind("--days", "7")[0], 0)
        second = read_binding(self.data_dir)
        self.assertTrue(second.supersedes(first))
        self.assertEqual(second.expires_at - second.created_at, 7 * 86400)

    def test_the_key_already_there_is_kept(self):
        os.makedirs(self.data_dir)
        with open(os.path.join(self.data_dir, OVERLAY_KEY_FILE), "wb") as handle:
            handle.write(bytes(range(32)))
        before = overlay_public_key(self.data_dir)
        self.bind()
        self.assertEqual(read_binding(self.data_dir).overlay_key, before)

    def test_run_as_root_on_a_servers_directory_the_files_are_the_servers(self):
        if os.geteuid() != 0:
            raise SkipTest("only root can give files to another user")
        os.makedirs(self.data_dir)
        os.chown(self.data_dir, 54321, 54322)
        self.assertEqual(self.bind()[0], 0)
        for name in ("binding.json", OVERLAY_KEY_FILE):
            owner = os.stat(os.path.join(self.data_dir, name))
            self.assertEqual((owner.st_uid, owner.st_gid), (54321, 54322), name)

    def test_nsec_file_and_hex_secret(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write(OWNER.secret.hex() + "\n")
        code, out, err = self.bind("--nsec-file", path, stdin="")
        self.assertEqual(code, 0, err)
        self.assertEqual(read_binding(self.data_dir).owner, OWNER.public)
        self.assertSecretNowhere(out, err)

    def test_refusals_are_one_line_and_write_no_binding(self):
        typo = OWNER.nsec[:-1] + ("q" if OWNER.nsec[-1] != "q" else "p")
        cases = [
            ((), OWNER.npub, "public key (npub)"),
            ((), typo, "expected the owner's secret key"),
            ((), "", "expected the owner's secret key"),
            (("--pubkey", OTHER.npub), OWNER.nsec, "not the owner's"),
            (("--days", "0"), OWNER.nsec, "--days"),
            (("--nsec-file", "/nonexistent/nsec"), "", "--nsec-file"),
        ]
        for extra, stdin, expected in cases:
            with self.subTest(expected=expected):
                code, out, err = self.bind(*extra, stdin=stdin)
                self.assertEqual(code, 1)
                self.assertIn(expected, err)
                self.assertEqual(len(err.strip().splitlines()), 1)
                self.assertNotIn(typo, err)
                self.assertIsNone(read_binding(self.data_dir)
                                  if os.path.isdir(self.data_dir) else None)

    def test_an_older_sequence_is_refused(self):
        self.bind("--sequence", "10")
        code, _, err = self.bind("--sequence", "9")
        self.assertEqual(code, 1)
        self.assertIn("would not replace", err)
        self.assertEqual(read_binding(self.data_dir).sequence, 10)

    def test_as_a_process_with_the_secret_on_a_pipe(self):
        done = subprocess.run(
            [sys.executable, "-m", "nostrp2p", "bind", "--datadir", self.data_dir],
            input=OWNER.nsec + "\n", capture_output=True, text=True, timeout=60,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(read_binding(self.data_dir).owner, OWNER.public)
        self.assertSecretNowhere(done.stdout, done.stderr)
