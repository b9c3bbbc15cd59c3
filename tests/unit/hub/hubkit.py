"""Test kit shared by the hub and sync tests: a clock, an in-process hub, agents and snapshots.

No mocks of our code: the hub is the real ASGI app over a real SQLite store (in memory); only the
network is replaced, by httpx's ASGI transport or a transport that fails like a dead network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync.client import HubClient
from agent.sync.config import SyncConfig
from agent.sync.cycle import Cycle
from agent.sync.snapshot import (
    ApplicationInfo,
    BundleInfo,
    ClusterSnapshot,
    Health,
    TenantInfo,
    Usage,
)
from agent.sync.state import MemoryStore
from hub import access
from hub.app import HubApp
from hub.service import Hub
from hub.sqlite import SqliteStore
from hub.sqlstore import SqlStore
from wire import protocol

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
# How a new HubKit opens its store: SQLite in memory, unless the `backend` fixture (conftest) has
# pushed PostgreSQL for the running test.
STORES: list[Callable[[], SqlStore]] = [lambda: SqliteStore(":memory:")]
HUB_URL = "http://hub.test"
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def current_store() -> SqlStore:
    return STORES[-1]()


@dataclass
class HubKit:
    clock: Clock = field(default_factory=Clock)
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    store: SqlStore = field(default_factory=current_store)

    def __post_init__(self) -> None:
        self.hub = Hub(self.store, self.key, self.clock)
        self.app = HubApp(self.hub)
        # An admin reader, for the tests that read the API or the page.
        self.reader = access.create(self.store, "test-admin", "admin", self.clock())

    def reading(self) -> dict[str, str]:
        """Headers of an authenticated reader."""
        return {"Authorization": f"Bearer {self.reader}"}

    def config(self, **overrides: Any) -> SyncConfig:
        return SyncConfig(HUB_URL, protocol.keyring(self.key.public_key()), **overrides)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=HUB_URL, timeout=5.0
        )

    def client(self, transport: httpx.AsyncBaseTransport | None = None) -> HubClient:
        return HubClient(self.config(), transport or httpx.ASGITransport(app=self.app))

    def report_count(self) -> int:
        return int(self.store.run("SELECT COUNT(*) FROM reports")[0][0])

    def agent_count(self) -> int:
        return int(self.store.run("SELECT COUNT(*) FROM agents")[0][0])


class SwitchableTransport(httpx.AsyncBaseTransport):
    """The in-process hub, or a dead network while `down` is set (every request fails)."""

    def __init__(self, app: HubApp) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


class ScriptedTransport(httpx.AsyncBaseTransport):
    """A hub impersonator: answers every request with `respond(request)`."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.respond(request)


def snapshot(tenants: int = 3, apps_per_tenant: int = 2, uid: str = "uid-1") -> ClusterSnapshot:
    infos = tuple(
        TenantInfo(
            Health(f"tenant-{i:04d}", "True" if i % 7 else "False", "Ready" if i % 7 else "Quota"),
            Usage(pods=3, cpu_millicores=250 * (i % 5 + 1), memory_bytes=(i % 3 + 1) * 2**28),
            owner=f"owner-{i}@example.com",
        )
        for i in range(tenants)
    )
    apps = tuple(
        ApplicationInfo(Health(f"app-{i:04d}-{j}", "True", "Ready"), f"tenant-{i:04d}")
        for i in range(tenants)
        for j in range(apps_per_tenant)
    )
    return ClusterSnapshot(
        cluster_uid=uid,
        dataplanes=(Health("main", "True", "Ready"),),
        tenants=infos,
        applications=apps,
        bundle=BundleInfo("2.14.0", 1042),
    )


def agent(**options: Any) -> tuple[Cycle, MemoryStore]:
    store = MemoryStore()
    return Cycle(store, **options), store


class SignedIn:
    """Stands for a browser holding a session: adds the reader's bearer header to each request
    (headless Chromium's command line cannot fill in the login form)."""

    def __init__(self, app: HubApp, token: str) -> None:
        self.app, self.header = app, (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


class ServedHub:
    """The hub app served by uvicorn on 127.0.0.1 (a socket of our own, so no port race)."""

    def __init__(self, app: HubApp | SignedIn, **ssl: str) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, **ssl)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

        self.scheme = "https" if ssl else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedHub:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
