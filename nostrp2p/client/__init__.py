"""Command-line tools for people without the mobile app: ``nostrp2p status`` (through the admin
socket) and a small Nostr client (``post``, ``reply``, ``follow``, ``timeline``) that talks to
the server's REST API exactly as the app does, and signs on this machine (docs/CLIENT.md)."""
