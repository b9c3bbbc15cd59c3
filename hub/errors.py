"""Errors of the reference hub (its own family: the hub shares no code with the agent).

HubError            the hub cannot start or serve as configured (bad key file, bad DB URL)
 └─ Rejection      one request refused: HTTP status + a stable `code`; nothing was stored
"""

from __future__ import annotations


class HubError(Exception):
    """The hub cannot do what was asked; the message says what to fix."""

    exit_code = 2


class Rejection(HubError):
    """A request the hub refuses; rendered as `{"error": {"code", "message"}}` with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def to_dict(self) -> dict[str, object]:
        """The rejection as the JSON error body."""
        return {"error": {"code": self.code, "message": str(self), "status": self.status}}
