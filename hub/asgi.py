"""The ASGI shapes the hub speaks, and the part of the app the routes reach through.

Types only: the app (`hub.app`) implements `App`; the routes (`hub.routes`) take an `App`, so
neither module imports the other's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol, TypeVar

from hub.service import Hub

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
T = TypeVar("T")


class App(Protocol):
    """What a route handler may use of the running app."""

    hub: Hub
    spec: bytes

    async def call(self, action: Callable[..., T], *args: Any) -> T:
        """Run store or verification work off the event loop."""

    async def body(self, scope: Scope, receive: Receive, limit: int) -> bytes:
        """The request body, within `limit` bytes and the read deadline."""
