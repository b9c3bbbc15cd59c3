"""Errors of status sync (part of the agent's `AgentError` family).

    AgentError
     └─ SyncError               status sync could not do what was asked
          ├─ HubUnavailableError  the hub could not be reached or answered 5xx (retry later)
          └─ HubRejectedError   the hub refused a document with a 4xx (retrying will not help)

A document that breaks the wire protocol raises `wire.errors.ProtocolError` instead.
Messages never carry tokens, keys or credentialed URLs.
"""

from __future__ import annotations

from agent.errors import AgentError


class SyncError(AgentError):
    """Status sync failed in a way the agent expects and can explain."""


class HubUnavailableError(SyncError):
    """The hub was unreachable, timed out, or failed on its side; the report stays spooled."""


class HubRejectedError(SyncError):
    """The hub answered with a 4xx error; carries the HTTP status and the hub's error code."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
