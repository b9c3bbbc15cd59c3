"""Usage records delivered live to a hub on loopback: the hub down for several windows and a
clock skew of ±5 minutes between agent and hub. Once the hub is back, the ledger holds every
window since metering began, each in its own window (the agent's), none missing or doubled."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.app import HubApp
from hub.ledger import gaps
from hub.service import Hub
from hub.sqlite import SqliteStore
from hub.usage_store import UsageLedger
from tests.cluster.agent.agentkit import Agents, Kubectl, unique, wait_for
from tests.cluster.agent.test_usage import CPU, WINDOW, both_running, expected, pod
from wire import protocol


class LiveHub:
    """The hub served by uvicorn on a fixed loopback port, so it can stop and come back."""

    def __init__(self, db: Path, key: Ed25519PrivateKey, clock: Callable[[], datetime]) -> None:
        self.db, self.key, self.clock = db, key, clock
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.hub = Hub(SqliteStore(str(db)), key, clock)
        self.server: uvicorn.Server | None = None

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(HubApp(self.hub), lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.start()
        wait_for(lambda: self.server is not None and self.server.started, 10, "the hub to serve")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(10)
            self.server = None


def cpu_rows(db: Path, tenant: str) -> dict[datetime, float]:
    ledger = UsageLedger(SqliteStore(str(db)))
    now = datetime.now(UTC)
    rows = ledger.rows(now - timedelta(hours=1), now + timedelta(hours=1), tenant=tenant)
    assert not gaps(rows)
    return {r.record.window_start: r.record.quantity for r in rows
            if r.record.meter == "cpu_core_seconds"}  # fmt: skip


@pytest.mark.parametrize("skew_minutes", [5, -5])
def test_hub_outage_and_clock_skew_lose_nothing(
    kubectl: Kubectl, agents: Agents, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    skew_minutes: int,
) -> None:  # fmt: skip
    skew = timedelta(minutes=skew_minutes)
    key = Ed25519PrivateKey.generate()
    live = LiveHub(tmp_path / "hub.db", key, lambda: datetime.now(UTC) + skew)
    live.start()
    monkeypatch.setenv("OUTPOST_HUB_URL", f"http://127.0.0.1:{live.port}")
    monkeypatch.setenv("OUTPOST_HUB_KEYS", protocol.public_key_b64(key.public_key()))
    monkeypatch.setenv("OUTPOST_HUB_ENROLLMENT_TOKEN", live.hub.create_token())
    monkeypatch.setenv("OUTPOST_HUB_INTERVAL_SECONDS", "10")
    tenant_ns, tenant = unique("usage"), unique("acme")
    kubectl.run("create", "namespace", tenant_ns)
    kubectl.run("label", "namespace", tenant_ns, f"outpost.dev/tenant={tenant}")
    try:
        kubectl.apply(*(pod(n, tenant_ns, c) for n, c in CPU.items()))
        starts = wait_for(lambda: both_running(kubectl, tenant_ns), 60, "both pods running")
        assert starts is not None
        agents.start("--usage-window-seconds", str(WINDOW))
        wait_for(lambda: len(cpu_rows(live.db, tenant)) >= 2, 90, "the first windows at the hub")
        live.stop()
        time.sleep(4 * WINDOW)  # several windows close while the hub is away
        down_seen = len(cpu_rows(live.db, tenant))
        live.start()
        settled = datetime.now(UTC) - timedelta(seconds=WINDOW)
        wait_for(
            lambda: max(cpu_rows(live.db, tenant)) >= settled, 90, "the backlog to reach the hub"
        )
        live.stop()
        cpu = cpu_rows(live.db, tenant)
        ordered = sorted(cpu)
        assert len(ordered) >= down_seen + 4
        assert ordered == [ordered[0] + timedelta(seconds=WINDOW * i) for i in range(len(ordered))]
        for window in ordered[1:]:
            want = expected(window, starts)
            assert abs(cpu[window] - want) <= 0.02 * want, (window, cpu[window], want)
    finally:
        live.stop()
        kubectl.run("delete", "namespace", tenant_ns, "--wait=false", check=False)
