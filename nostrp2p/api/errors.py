"""The API's refusals: an HTTP status and a JSON body that names what was wrong."""

from __future__ import annotations

import json


class ApiError(Exception):
    """A request the API refuses. ``field`` names the part of the request at fault
    (``"body"``, ``"sig"``, ``"tags[3][1]"``, ``"method"``...), ``reason`` says why."""

    def __init__(self, status: int, field: str, reason: str):
        super().__init__(f"{status} {field}: {reason}")
        self.status = status
        self.field = field
        self.reason = reason

    def body(self) -> bytes:
        return error_body(self.field, self.reason)


def error_body(field: str, reason: str) -> bytes:
    return json.dumps({"Status": "ERROR", "Field": field, "Reason": reason}).encode("utf-8")
