"""Registers ``twistd nostrp2p``. Kept to the IServiceMaker declaration: twistd and trial import
every plugin module to list them, so this file imports nothing of the server itself."""

from twisted.application.service import ServiceMaker

nostrp2p = ServiceMaker(
    name="NostrP2P",
    module="nostrp2p.tap",
    description="A NostrP2P server: Nostr without relays, on an encrypted UDP overlay.",
    tapname="nostrp2p",
)
