"""The overlay public key that a binding names, read from the data directory with the overlay's
own key loading code: the key is created there, exactly as the server would create it, when
the directory has none yet (so ``nostrp2p bind`` may run before the first start)."""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError
from ..mesh.identity import OWNER_KEY_SIZE, KeyFileError, load_or_create

OVERLAY_KEY_FILE = "overlay.key"

# load_or_create pairs the key with the owner it serves; only the public key is wanted here.
_ANY_OWNER = bytes(OWNER_KEY_SIZE)


def overlay_public_key(data_dir: Path) -> bytes:
    """Raises :class:`ConfigError` (one line) when the key cannot be read or created."""
    path = Path(data_dir) / OVERLAY_KEY_FILE
    try:
        return load_or_create(str(path), _ANY_OWNER).public_key
    except KeyFileError as e:
        raise ConfigError(f"--datadir: {e}") from None
    except OSError as e:
        raise ConfigError(f"--datadir: cannot create the overlay key file {path}: "
                          f"{e.strerror}") from None
