"""Benchmark: hub ingest rate on SQLite, and the agent's report build + sign time.

Run: `.venv/bin/python bench/hub_ingest.py [--reports 5000] [--agents 10] [--tenants 20]`.
Measures, pinned to one CPU where the OS allows it:
  1. verified and stored reports per second: pre-signed reports fed to the hub's ASGI app in
     process (no sockets, raw ASGI calls), SQLite file in a temporary directory (target ≥ 2,000/s);
     the same through httpx's ASGI transport, for the client-side overhead;
  2. time to build and sign one report for 1,000 tenants (target ≤ 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync import report
from agent.sync.snapshot import ClusterSnapshot, Health, TenantInfo, Usage
from agent.sync.state import SyncState
from hub.app import HubApp
from hub.service import Hub
from hub.sqlite import SqliteStore
from wire import enrollment

INGEST_TARGET = 2000.0
BUILD_TARGET_MS = 100.0


def make_snapshot(tenants: int) -> ClusterSnapshot:
    infos = tuple(
        TenantInfo(Health(f"tenant-{i:05d}", "True", "Ready"), Usage(4, 1500, 3 * 2**30))
        for i in range(tenants)
    )
    return ClusterSnapshot("uid-bench", (Health("main", "True", "Ready"),), infos, ())


def presign(hub: Hub, agents: int, per_agent: int, tenants: int) -> list[tuple[str, bytes]]:
    """Enroll agents and sign their reports; interleaved so each agent's seq still rises."""
    start = datetime.now(UTC) - timedelta(hours=1)
    snap = make_snapshot(tenants)
    queues: list[list[tuple[str, bytes]]] = []
    for n in range(agents):
        key = Ed25519PrivateKey.generate()
        body = report.compact(enrollment.sign_enrollment(key, "uid-bench", f"e{n}", start))
        assert hub.enroll(hub.create_token(), body).status == 201
        state = SyncState(agent_id=enrollment.EnrollClaim("", key.public_key(), "", start).agent_id)
        queue = []
        for i in range(per_agent):
            payload, state = report.build_report(
                snap, state, start + timedelta(seconds=i), f"{n}-{i}"
            )
            queue.append((state.agent_id, report.sign_report(payload, key)))
        queues.append(queue)
    return [item for batch in zip(*queues, strict=True) for item in batch]


async def raw_post(app: HubApp, path: str, body: bytes) -> int:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    return int(sent[0]["status"])


async def ingest_raw(app: HubApp, items: list[tuple[str, bytes]]) -> None:
    for agent_id, body in items:
        status = await raw_post(app, f"/v1/agents/{agent_id}/reports", body)
        assert status == 202, status


async def ingest_httpx(app: HubApp, items: list[tuple[str, bytes]]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub", timeout=10) as http:
        for agent_id, body in items:
            answer = await http.post(f"/v1/agents/{agent_id}/reports", content=body)
            assert answer.status_code == 202, answer.text


@dataclass(frozen=True)
class Rate:
    """Reports per wall-clock second, and per second of this process's CPU time.

    On a shared, loaded machine the CPU-time rate is what one free core would do.
    """

    wall: float
    cpu: float


def measure_ingest(args: argparse.Namespace, via_httpx: bool) -> Rate:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "hub.db"))
        hub = Hub(store, Ed25519PrivateKey.generate())
        items = presign(hub, args.agents, args.reports // args.agents, args.tenants)
        runner = ingest_httpx if via_httpx else ingest_raw
        wall, cpu = time.perf_counter(), time.process_time()
        asyncio.run(runner(HubApp(hub), items))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        count = int(store.run("SELECT COUNT(*) FROM reports")[0][0])
        assert count == len(items)
        store.close()
    return Rate(len(items) / wall, len(items) / cpu)


def measure_build(tenants: int, runs: int) -> tuple[float, float, int]:
    snap, key = make_snapshot(tenants), Ed25519PrivateKey.generate()
    state, walls, cpus, size = SyncState("agt_bench"), [], [], 0
    for i in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        payload, state = report.build_report(snap, state, datetime.now(UTC), f"b{i}")
        report.sign_report(payload, key)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        size = len(payload)
    return statistics.median(walls), statistics.median(cpus), size


def verify_cost_us(rounds: int = 2000) -> float:
    """CPU µs of one Ed25519 verification here: the yardstick for comparing machines."""
    key = Ed25519PrivateKey.generate()
    message = b"x" * 4096
    signature, public = key.sign(message), key.public_key()
    started = time.process_time()
    for _ in range(rounds):
        public.verify(signature, message)
    return (time.process_time() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--tenants", type=int, default=20, help="tenants per ingested report")
    parser.add_argument("--build-runs", type=int, default=30)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    raw = measure_ingest(args, via_httpx=False)
    via = measure_ingest(args, via_httpx=True)
    print_figures(raw, via, measure_build(1000, args.build_runs))


def print_figures(raw: Rate, via: Rate, build: tuple[float, float, int]) -> None:
    build_ms, build_cpu_ms, size = build
    for name, rate in (("raw ASGI", raw), ("httpx ASGITransport", via)):
        print(
            f"ingest via {name}: {rate.wall:7.0f}/s wall ({rate.wall / INGEST_TARGET:.2f}x), "
            f"{rate.cpu:7.0f}/s per CPU-second ({rate.cpu / INGEST_TARGET:.2f}x target "
            f"{INGEST_TARGET:.0f}/s)"
        )
    print(
        f"build+sign, 1,000 tenants: {build_ms:.1f} ms wall, {build_cpu_ms:.1f} ms CPU median "
        f"({BUILD_TARGET_MS / build_ms:.2f}x / {BUILD_TARGET_MS / build_cpu_ms:.2f}x under the "
        f"{BUILD_TARGET_MS:.0f} ms target; payload {size / 1024:.0f} KiB)"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    verify_us = verify_cost_us()
    per_report = 1e6 / raw.cpu / verify_us
    print(
        f"(load average {load:.1f} on {os.cpu_count()} CPUs; one Ed25519 verify = {verify_us:.0f} "
        f"µs CPU here; one ingested report costs {per_report:.1f} verifies)"
    )


if __name__ == "__main__":
    main()
