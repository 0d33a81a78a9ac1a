"""A stock Nostr client (rust-nostr's Python binding, nostr-sdk) driven as a child process, so
that its asyncio loop never meets trial's reactor.

One JSON command per line on stdin, one JSON report per line on stdout:

  {"op": "connect", "url": "ws://...", "secret": "hex"}   -> {"op": "connected"}
      (with the key as its NIP-42 authenticator; "secret": null for none)
  {"op": "publish", "kind": 1, "content": "...", "tags": [["t", "x"]]}
      -> {"op": "published", "id": hex, "success": [...], "failed": {url: reason}}
  {"op": "subscribe", "id": "sub", "filter": {...NIP-01 filter...}} -> {"op": "subscribed"}
  {"op": "unsubscribe", "id": "sub"}                         -> {"op": "unsubscribed"}

and, as the relay sends them: {"op": "event", "sub": ..., "event": {...}},
{"op": "eose", "sub": ...}, {"op": "closed", "sub": ..., "message": ...},
{"op": "notice", "message": ...}, {"op": "auth"}; {"op": "error", "message": ...} when a
command fails.
"""

import asyncio
import json
import sys
from datetime import timedelta

from nostr_sdk import (
    ClientBuilder, EventBuilder, Filter, Keys, Kind, RelayUrl, ReqTarget, SignerAuthenticator,
    Tag, uniffi_set_event_loop,
)


def report(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Driver:
    def __init__(self):
        self.client = None
        self.keys = None

    async def connect(self, url, secret):
        builder = ClientBuilder()
        if secret:
            self.keys = Keys.parse(secret)
            builder = builder.authenticator(SignerAuthenticator(self.keys))
        self.client = builder.build()
        await self.client.add_relay(RelayUrl.parse(url))
        await self.client.connect(timedelta(seconds=10))
        asyncio.get_running_loop().create_task(self.notifications())
        report(op="connected")

    async def publish(self, kind, content, tags=()):
        builder = EventBuilder(Kind(kind), content).tags([Tag.parse(t) for t in tags])
        event = builder.finalize(self.keys)
        output = await self.client.send_event(event)
        report(op="published", id=output.id.to_hex(),
               success=[str(u) for u in output.success],
               failed={str(u): reason for u, reason in output.failed.items()})

    async def subscribe(self, id, filter):
        await self.client.subscribe(ReqTarget.auto([Filter.from_json(json.dumps(filter))]), id)
        report(op="subscribed")

    async def unsubscribe(self, id):
        await self.client.unsubscribe(id)
        report(op="unsubscribed")

    async def notifications(self):
        stream = self.client.notifications()
        while True:
            notification = await stream.next()
            if notification is None or notification.is_shutdown():
                return
            if not notification.is_message():
                continue
            message = notification.message.as_enum()
            if message.is_event_msg():
                report(op="event", sub=message.subscription_id,
                       event=json.loads(message.event.as_json()))
            elif message.is_end_of_stored_events():
                report(op="eose", sub=message.subscription_id)
            elif message.is_closed():
                report(op="closed", sub=message.subscription_id, message=message.message)
            elif message.is_notice():
                report(op="notice", message=message.message)
            elif message.is_auth():
                report(op="auth")


async def main():
    driver = Driver()
    loop = asyncio.get_running_loop()
    # The binding calls back into Python (the NIP-42 signer) from its own threads.
    uniffi_set_event_loop(loop)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command = json.loads(line)
        op = command.pop("op")
        try:
            await getattr(driver, op)(**command)
        except Exception as e:  # reported to the test, which fails with it
            report(op="error", message=f"{op}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    asyncio.run(main())
