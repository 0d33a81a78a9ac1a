"""HTTP for short-lived command-line tools: the standard library's blocking client, over TCP to
the REST API or over the admin unix socket. (A reactor would add nothing to one request at a
time, and these tools must start fast.)"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

from . import limits
from .errors import ClientError


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _exchange(connection, method: str, path: str, body: bytes | None, headers: dict,
              where: str) -> tuple[int, bytes]:
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(limits.MAX_RESPONSE_BYTES + 1)
    except (OSError, http.client.HTTPException) as e:
        raise ClientError(f"{where} does not answer: {e}") from None
    finally:
        connection.close()
    if len(data) > limits.MAX_RESPONSE_BYTES:
        raise ClientError(f"{where} answered more than {limits.MAX_RESPONSE_BYTES} bytes")
    return response.status, data


def admin_get(socket_path: str, path: str) -> tuple[int, bytes]:
    connection = _UnixConnection(socket_path, limits.HTTP_TIMEOUT_SECONDS)
    return _exchange(connection, "GET", path, None, {}, f"the server's admin socket {socket_path}")


def post_json(base_url: str, path: str, value, accept: str) -> tuple[int, bytes]:
    """POST ``value`` as JSON to the REST API, with the mobile client's headers."""
    url = urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ClientError(f"--server must be http://HOST:PORT or https://HOST:PORT, not {base_url!r}")
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = kind(url.hostname, url.port, timeout=limits.HTTP_TIMEOUT_SECONDS)
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "accept": accept}
    return _exchange(connection, "POST", url.path.rstrip("/") + path, body, headers,
                     f"the server at {base_url}")
