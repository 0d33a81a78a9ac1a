"""The binding file in the data directory: the event's NIP-01 JSON, so that any Nostr tool can
read and check it. Written atomically (a temporary file renamed over the old one), so a crash
leaves the old binding or the new one, never half of either."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..nostr import EventError, event_from_json_bytes
from ..nostr.binding import Binding, BindingError, binding_from_event

BINDING_FILE = "binding.json"


def binding_path(data_dir: Path) -> Path:
    return Path(data_dir) / BINDING_FILE


def read_binding(data_dir: Path) -> Binding | None:
    """The binding stored in ``data_dir`` (signature verified), None when there is none.

    Raises :class:`BindingError` when the file is there but unreadable or not a valid binding."""
    path = binding_path(data_dir)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BindingError("file", f"cannot read {path}: {e.strerror}") from None
    try:
        return binding_from_event(event_from_json_bytes(body, verify=False))
    except BindingError as e:
        raise BindingError(e.field, f"{path}: {e.reason}") from None
    except EventError as e:
        raise BindingError(e.field, f"{path} is not a Nostr event: {e}") from None


def write_binding(data_dir: Path, binding: Binding) -> Path:
    path = binding_path(data_dir)
    temporary = path.with_name(path.name + ".tmp")
    body = json.dumps(binding.event.to_json(), ensure_ascii=False).encode("utf-8")
    # It holds nothing secret, but it lives beside the overlay's secret key: same care.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path
