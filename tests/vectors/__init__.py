"""Published test vectors (BIP-340, NIP-19), copied verbatim from their sources."""

from pathlib import Path

HERE = Path(__file__).parent


def path(name: str) -> Path:
    return HERE / name
