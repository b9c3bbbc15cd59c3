"""The reference hub as a plain ASGI application.

I/O: HTTP in and out through the ASGI `receive`/`send` callables; routing is the table in
`hub.routes`, request logic is `hub.service.Hub` (writes), `hub.fleet` (reads) and `hub.access`
(who may read). Every body is read with a size cap (413 before it is all taken in) and a
deadline (408 for a body that trickles in). Store and verification work runs on a thread
pool per process (one thread on SQLite, several on PostgreSQL), never on the event loop, so
`/healthz` answers while an upload is being verified.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from hub import openapi, routes
from hub.asgi import Receive, Scope, Send
from hub.errors import Rejection
from hub.service import Hub, Reply, json_reply

T = TypeVar("T")
LOG = logging.getLogger("outpost.hub")


@dataclass(frozen=True)
class Limits:
    """How much one request may send, and how slowly."""

    body_seconds: float = 30.0


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


async def read_body(receive: Receive, scope: Scope, limit: int, seconds: float) -> bytes:
    """The whole body, or `TooLarge` past `limit` bytes, or `TooSlow` past `seconds`."""
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise TooLarge
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    body = bytearray()
    more = True
    while more:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
        except TimeoutError as exc:
            raise TooSlow from exc
        body += message.get("body", b"")
        if len(body) > limit:
            raise TooLarge
        more = bool(message.get("more_body", False)) and message["type"] == "http.request"
    return bytes(body)


def rejection(status: int, code: str, message: str) -> Reply:
    """A JSON error reply."""
    return json_reply(status, Rejection(status, code, message).to_dict())


class HubApp:
    """Routes: see `hub.routes` and `hub.openapi.document()`."""

    def __init__(self, hub: Hub, limits: Limits | None = None) -> None:
        self.hub = hub
        self.limits = limits or Limits()
        self.spec = json.dumps(openapi.document()).encode()
        # As many threads as the store allows (SQLite: one connection, one thread).
        threads = int(getattr(hub.store, "threads", 1))
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hub-store")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: lifespan events, then every HTTP request through the routes."""
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.monotonic()
        try:
            reply = await routes.route(self, scope, receive)
        except TooLarge:
            reply = rejection(413, "too_large", "request body is over the size limit")
        except TooSlow:
            reply = rejection(408, "too_slow", "request body was not sent in time")
        except Exception:  # a store outage, not an input: logged, answered without details
            LOG.exception("request failed")
            reply = rejection(500, "internal", "the hub failed to handle this request")
        await send_reply(send, reply)
        log_request(scope, reply.status, time.monotonic() - started)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Answer ASGI lifespan startup and shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.call(self.hub.store.close)
                self.pool.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def call(self, action: Callable[..., T], *args: Any) -> T:
        """Run store or verification work on the store thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(action, *args))

    async def body(self, scope: Scope, receive: Receive, limit: int) -> bytes:
        """The request body, within `limit` bytes and the read deadline."""
        return await read_body(receive, scope, limit, self.limits.body_seconds)


def log_request(scope: Scope, status: int, seconds: float) -> None:
    """One JSON line per request (no query string: it is not needed and may be long)."""
    if LOG.isEnabledFor(logging.INFO):
        fields = {"method": scope.get("method"), "path": scope.get("path"), "status": status}
        LOG.info(json.dumps({"event": "request", **fields, "ms": round(seconds * 1000, 2)}))


async def send_reply(send: Send, reply: Reply) -> None:
    """Send a reply with its headers."""
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        *((name.encode(), value.encode()) for name, value in reply.headers),
    ]
    if reply.content_type.startswith("text/html"):
        headers.append(
            (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; "
             b"form-action 'self'; frame-ancestors 'none'")
        )  # fmt: skip
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
