"""Delivery through an authenticating HTTP forward proxy to a hub served by uvicorn.

Aspects: the agent reaches the hub only through the proxy, sends Proxy-Authorization, and its
reports arrive; with wrong proxy credentials (407) the reports stay spooled. Everything runs on
127.0.0.1: a tiny asyncio proxy written here and uvicorn serving the real hub app.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from urllib.parse import quote, urlsplit

import pytest

from agent.sync.client import Delivery, HubClient
from agent.sync.cycle import Cycle
from agent.sync.state import MemoryStore
from tests.unit.hub.hubkit import HubKit, ServedHub, snapshot

pytest.importorskip("uvicorn")

USER, PASSWORD = "outpost", "pa:ss word"
EXPECTED = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class ForwardProxy:
    """Absolute-form HTTP/1.1 forwarding with Basic proxy auth; one request per connection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, target, _ = head.split("\r\n")[0].split(" ")
            headers = [line.split(":", 1) for line in head.split("\r\n")[1:] if line]
            fields = {k.strip().lower(): v.strip() for k, v in headers}
            authorized = fields.get("proxy-authorization") == EXPECTED
            self.seen.append((method, target, authorized))
            body = await reader.readexactly(int(fields.get("content-length", "0")))
            if not authorized:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")  # fmt: skip
            else:
                writer.write(await self.forward(method, target, fields, body))
            await writer.drain()
        finally:
            writer.close()

    async def forward(self, method: str, target: str, fields: dict[str, str], body: bytes) -> bytes:
        url = urlsplit(target)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        skip = {"proxy-authorization", "connection", "keep-alive", "proxy-connection"}
        lines = [f"{method} {url.path}{'?' + url.query if url.query else ''} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in fields.items() if k not in skip]
        writer.write(("\r\n".join([*lines, "Connection: close", "", ""])).encode() + body)
        await writer.drain()
        answer = await reader.read()
        writer.close()
        return answer


async def deliver_through_proxy(
    kit: HubKit, hub_url: str, password: str, store: MemoryStore, enroll: bool
) -> tuple[Delivery, list[tuple[str, str, bool]]]:
    proxy = ForwardProxy()
    port = await proxy.start()
    proxy_url = f"http://{USER}:{quote(password, safe='')}@127.0.0.1:{port}"
    client = HubClient(replace(kit.config(), hub_url=hub_url, proxy=proxy_url))
    cycle = Cycle(store)
    try:
        if enroll:
            await cycle.enroll(client, kit.hub.create_token(), "uid-1", kit.clock())
        await cycle.produce(snapshot(), kit.clock(), "n1")
        await cycle.produce(snapshot(), kit.clock(), "n2")
        return await cycle.deliver(client), proxy.seen
    finally:
        await client.aclose()
        proxy.server.close()


def test_reports_travel_through_an_authenticating_proxy() -> None:
    kit, store = HubKit(), MemoryStore()
    with ServedHub(kit.app) as hub:
        result, seen = asyncio.run(deliver_through_proxy(kit, hub.url, PASSWORD, store, True))
    assert result.acked == 2
    assert kit.report_count() == 2
    assert len(seen) == 3  # enrollment + two reports, all through the proxy
    assert all(authorized and target.startswith(hub.url) for _, target, authorized in seen)


def test_wrong_proxy_credentials_keep_reports_spooled() -> None:
    kit, store = HubKit(), MemoryStore()
    with ServedHub(kit.app) as hub:
        result, seen = asyncio.run(deliver_through_proxy(kit, hub.url, "wrong", store, False))
    assert result.acked == 0
    assert result.error is not None
    assert len(store.spool) == 2
    assert kit.report_count() == 0
    assert seen
    assert not any(authorized for _, _, authorized in seen)
