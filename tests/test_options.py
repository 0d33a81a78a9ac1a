"""`twistd nostrp2p` options and the config file: defaults, precedence, clear refusals."""

from pathlib import Path

from twisted.trial.unittest import TestCase

from nostrp2p.config import HostPort
from nostrp2p.options import ServerOptions

NPUB = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
HEX = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
NSEC = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"


DOCUMENTED_OPTIONS = [
    "--config", "--pubkey", "--listen", "--rest", "--datadir", "--redis", "--max-events",
    "--network-password", "--log-json", "--deny-write", "--debug", "--bootstrap",
    "--resend-base-seconds", "--resend-check-seconds", "--stun-server", "--relay-kib-per-second",
    "--private-reads", "--delivery",
]


def parse(*args):
    options = ServerOptions()
    options.parseOptions(list(args))
    return options.config


class OptionTests(TestCase):
    def test_defaults_follow_the_first_nostrp2p(self):
        config = parse("--pubkey", NPUB)
        self.assertEqual(config.owner_pubkey.hex(), HEX)
        self.assertEqual(config.overlay, HostPort("0.0.0.0", 20000))
        self.assertEqual(config.rest_endpoint, "tcp:20001:interface=0.0.0.0")
        self.assertEqual(config.bootstrap, ())
        self.assertEqual((config.deny_write, config.debug, config.redis_url), (False, False, None))
        self.assertEqual(config.max_events, 100_000)
        self.assertEqual(config.relay_kib_per_second, 1024)  # every server relays a little

    def test_delivery_is_broadcast_unless_followers_is_chosen(self):
        self.assertEqual(parse("--pubkey", NPUB).delivery, "broadcast")
        self.assertEqual(parse("--pubkey", NPUB, "--delivery", "followers").delivery, "followers")
        self.assertRefused(["-p", HEX, "--delivery", "firehose"], "--delivery", "broadcast, followers")

    def test_private_reads_is_a_flag(self):
        self.assertFalse(parse("--pubkey", NPUB).private_reads)
        self.assertTrue(parse("--pubkey", NPUB, "--private-reads").private_reads)

    def test_rest_follows_the_overlay_port(self):
        config = parse("-p", HEX, "-l", "127.0.0.1:30000")
        self.assertEqual(config.rest_endpoint, "tcp:30001:interface=127.0.0.1")
        config = parse("-p", HEX, "-l", "[::1]:30000")
        self.assertEqual(config.overlay, HostPort("::1", 30000))
        self.assertEqual(config.rest_endpoint, "tcp:30001:interface=\\:\\:1")

    def test_everything_given(self):
        config = parse(
            "-p", HEX, "-l", "127.0.0.1:1", "-r", "tcp:9999", "-b", "192.0.2.1:20000",
            "--bootstrap", "peer.example:7777", "-w", "-d", "--datadir", "/tmp/x",
            "--redis", "unix:/run/redis.sock", "--max-events", "5", "--network-password", "pw",
            "--log-json", "/tmp/log.json", "--resend-base-seconds", "1.5", "--resend-check-seconds", "2",
            "--stun-server", "192.0.2.7:3478", "--stun-server", "stun.example:3478",
            "--relay-kib-per-second", "0",
        )
        self.assertEqual(config.bootstrap, (HostPort("192.0.2.1", 20000), HostPort("peer.example", 7777)))
        self.assertEqual((config.deny_write, config.debug), (True, True))
        self.assertEqual((config.rest_endpoint, config.redis_url), ("tcp:9999", "unix:/run/redis.sock"))
        self.assertEqual((config.data_dir, config.max_events), (Path("/tmp/x"), 5))
        self.assertEqual(config.network_password, "pw")
        self.assertEqual(config.log_json, Path("/tmp/log.json"))
        self.assertEqual((config.resend_base_seconds, config.resend_check_seconds), (1.5, 2.0))
        self.assertEqual(config.stun_servers, (HostPort("192.0.2.7", 3478), HostPort("stun.example", 3478)))
        self.assertEqual(config.relay_kib_per_second, 0)  # 0 is a choice: relay nothing
        self.assertNotIn("pw", repr(config))  # never printed in logs by accident

    def assertRefused(self, args, *words):
        with self.assertRaises(SystemExit) as caught:
            parse(*args)
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_refusals_name_the_option(self):
        self.assertRefused([], "--pubkey is required")
        self.assertRefused(["-p", NSEC], "--pubkey", "secret key")
        self.assertRefused(["-p", "npub1garbage"], "--pubkey")
        self.assertRefused(["-p", HEX, "-l", "nonsense"], "--listen", "HOST:PORT")
        self.assertRefused(["-p", HEX, "-l", "1.2.3.4:70000"], "--listen", "65535")
        self.assertRefused(["-p", HEX, "-l", "1.2.3.4:65535"], "--listen", "port + 1")
        self.assertRefused(["-p", HEX, "-b", "x:y"], "--bootstrap")
        self.assertRefused(["-p", HEX, "-r", "carrier-pigeon:5"], "--rest")
        self.assertRefused(["-p", HEX, "-r", "ssl:443:privateKey=/nonexistent.pem"], "--rest")
        self.assertRefused(["-p", HEX, "--redis", "http://x"], "--redis")
        self.assertRefused(["-p", HEX, "--max-events", "0"], "--max-events")
        self.assertRefused(["-p", HEX, "--max-events", "lots"], "--max-events")
        self.assertRefused(["-p", HEX, "--resend-base-seconds", "0"], "--resend-base-seconds", "positive")
        self.assertRefused(["-p", HEX, "--resend-check-seconds", "nan"], "--resend-check-seconds")
        self.assertRefused(["-p", HEX, "--resend-base-seconds", "soon"], "--resend-base-seconds")
        self.assertRefused(["-p", HEX, "--stun-server", "nowhere"], "--stun-server")
        self.assertRefused(["-p", HEX, "--relay-kib-per-second", "-1"], "--relay-kib-per-second", "0 or more")
        self.assertRefused(["-p", HEX, "--relay-kib-per-second", "fast"], "--relay-kib-per-second")

    def test_a_mistake_is_one_line_without_the_usage(self):
        for args in (["-p", HEX, "--colour", "blue"], ["-p", HEX, "-r", "tcp:99999"], []):
            with self.assertRaises(SystemExit) as caught:
                parse(*args)
            text = str(caught.exception.code)
            self.assertTrue(text.startswith("nostrp2p: "), text)
            self.assertNotIn("\n", text)
            self.assertNotIn("--relay-kib-per-second", text)  # no list of options

    def test_version(self):
        with self.assertRaises(SystemExit) as caught:
            parse("--version")
        self.assertEqual(caught.exception.code, 0)

    def test_help_documents_every_option(self):
        text = str(ServerOptions())
        for option in DOCUMENTED_OPTIONS:
            self.assertIn(option, text)


class ConfigFileTests(TestCase):
    def write(self, text):
        path = self.mktemp()
        Path(path).write_text(text)
        return path

    def test_file_values_apply_and_the_command_line_wins(self):
        path = self.write(
            "[nostrp2p]\n"
            f"pubkey = {NPUB}\n"
            "listen = 127.0.0.1:21000\n"
            "bootstrap = 192.0.2.1:20000, 192.0.2.2:20000\n"
            "deny-write = true\n"
            "max-events = 500\n"
        )
        config = parse("--config", path)
        self.assertEqual(config.overlay, HostPort("127.0.0.1", 21000))
        self.assertEqual(len(config.bootstrap), 2)
        self.assertTrue(config.deny_write)
        self.assertEqual(config.max_events, 500)
        config = parse("--config", path, "-l", "127.0.0.1:22000", "--max-events", "7", "-b", "192.0.2.9:1")
        self.assertEqual(config.overlay.port, 22000)
        self.assertEqual(config.max_events, 7)
        self.assertEqual(config.bootstrap, (HostPort("192.0.2.9", 1),))

    def test_shipped_example_config_is_valid(self):
        example = Path(__file__).parent.parent / "etc" / "nostrp2p.conf"
        config = parse("--config", str(example), "--pubkey", HEX)
        self.assertEqual(config.owner_pubkey.hex(), HEX)

    def test_file_errors(self):
        with self.assertRaises(SystemExit) as caught:
            parse("--config", "/nonexistent/nostrp2p.conf")
        self.assertIn("cannot read", str(caught.exception))
        for text, words in [("[server]\npubkey = x\n", "no [nostrp2p] section"),
                            ("[nostrp2p]\nlisten\n", "not a valid config file"),
                            (f"[nostrp2p]\npubkey = {HEX}\ncolour = blue\n", "unknown option(s): colour"),
                            (f"[nostrp2p]\npubkey = {HEX}\ndebug = perhaps\n", "--debug")]:
            with self.assertRaises(SystemExit) as caught:
                parse("--config", self.write(text))
            self.assertIn(words, str(caught.exception))
