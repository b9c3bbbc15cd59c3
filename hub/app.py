"""The reference hub as a plain ASGI application (no web framework).

I/O: HTTP in and out through the ASGI `receive`/`send` callables; everything else is delegated to
`hub.service.Hub` (writes) and `hub.fleet` (reads). Bodies are read with a hard cap
(413 before the whole body is taken in). Store calls are short and run on the event loop: the
reference hub is meant to run as a single worker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from hub import fleet, openapi, page, usage_views
from hub.errors import Rejection
from hub.service import Hub, Reply, json_reply
from wire.protocol import MAX_BODY_BYTES

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
AGENT_PATH = re.compile(r"^/v1/agents/(?P<agent>agt_[0-9a-f]{32})/(?P<what>reports|keys)$")


class TooLarge(Exception):
    pass


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise TooLarge
    body = bytearray()
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            raise TooLarge
        more = bool(message.get("more_body", False))
    return bytes(body)


def bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            return str(value[7:].decode("latin-1").strip())
    return None


def rejection(status: int, code: str, message: str) -> Reply:
    return json_reply(status, Rejection(status, code, message).to_dict())


class HubApp:
    """Routes: see `hub.openapi.document()`."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.spec = json.dumps(openapi.document()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            reply = await self.route(scope, receive)
        except TooLarge:
            reply = rejection(413, "too_large", "request body is over the size limit")
        await send_reply(send, reply)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.hub.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def route(self, scope: Scope, receive: Receive) -> Reply:
        method, path = scope["method"], scope["path"]
        if method == "GET":
            return self.get(path, scope.get("query_string", b"").decode("latin-1"))
        if method != "POST":
            return rejection(405, "method_not_allowed", f"{method} is not supported here")
        if path == "/v1/uploads":
            body = await read_body(scope, receive, MAX_UPLOAD_BYTES)
            return self.hub.upload(body, bearer(scope))
        match = AGENT_PATH.match(path)
        if path != "/v1/enroll" and match is None:
            return rejection(404, "not_found", f"no such endpoint: POST {path}")
        body = await read_body(scope, receive, MAX_BODY_BYTES)
        if match is None:
            return self.hub.enroll(bearer(scope), body)
        if match["what"] == "keys":
            return self.hub.rotate(match["agent"], body)
        return self.hub.ingest(match["agent"], body)

    def get(self, path: str, query: str) -> Reply:
        if path == "/":
            html = page.render(fleet.fleet(self.hub.store), self.hub.clock())
            return Reply(200, html.encode(), "text/html; charset=utf-8")
        if path == "/openapi.json":
            return Reply(200, self.spec)
        if path == "/healthz":
            return json_reply(200, {"status": "ok"})
        if path == "/v1/agents":
            return json_reply(200, fleet.agents_doc(self.hub.store))
        if path == "/v1/usage":
            try:
                return usage_views.usage_reply(self.hub, parse_qs(query))
            except Rejection as exc:
                return json_reply(exc.status, exc.to_dict())
        if path == "/metrics":
            text = usage_views.metrics_text(self.hub, self.hub.clock())
            return Reply(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        match = AGENT_PATH.match(path)
        if match is None or match["what"] != "reports":
            return rejection(404, "not_found", f"no such endpoint: GET {path}")
        return self.reports(match["agent"], parse_qs(query))

    def reports(self, agent_id: str, query: dict[str, list[str]]) -> Reply:
        try:
            limit = int(query.get("limit", ["50"])[0])
            before = int(query["before_seq"][0]) if "before_seq" in query else None
            return json_reply(200, fleet.reports_doc(self.hub.store, agent_id, limit, before))
        except ValueError:
            return rejection(400, "malformed", "`limit` and `before_seq` must be integers")
        except Rejection as exc:
            return json_reply(exc.status, exc.to_dict())


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if reply.content_type.startswith("text/html"):
        headers.append(
            (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'")
        )
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
