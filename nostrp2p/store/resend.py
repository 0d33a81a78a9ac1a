"""The value a queued resend is handed back as."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResendItem:
    item_id: bytes
    destination: bytes
    payload: bytes
    attempts: int
    due: float
