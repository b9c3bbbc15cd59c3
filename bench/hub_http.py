"""Benchmark: the hub through real HTTP, and a fleet of 3,000 installs.

Run: `.venv/bin/python bench/hub_http.py [--agents 3000] [--reports 10] [--connections 48]`.

For each store (PostgreSQL with 2 workers, then SQLite with 1 worker), side by side:
  1. `outpost hub serve` on 127.0.0.1 (a throwaway PostgreSQL server, durable: fsync on, in a
     temp dir, on a Unix socket; or a SQLite file), a separate load process with `--agents`
     simulated agents, each enrolled over HTTP with its own key and a chain of `--reports`
     pre-signed reports, sent over `--connections` keep-alive connections. Figures: verified and
     stored reports per second (target ≥ 2,000/s on PostgreSQL with 2 workers), p50/p99 latency.
  2. The fleet: the same run is 3,000 agents each reporting every 60 s for 10 minutes, compressed
     in time: each report's `issued_at` is its simulated moment in the last 10 minutes, and all
     are sent as fast as the hub takes them. Figures: CPU per report (hub processes + database
     server), database size per install per day (growth × 144, as 10 minutes is 1/144 of a
     day), and the fleet page's render time at 3,000 installs (first page, a filtered page, one
     install's page; median of 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the load process and the throwaway PostgreSQL live in tests/

import httpx  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from agent.sync import report  # noqa: E402
from agent.sync.state import SyncState  # noqa: E402
from hub import access  # noqa: E402
from hub.cli import open_store  # noqa: E402
from hub.service import Hub  # noqa: E402
from tests.unit.hub.hubkit import snapshot  # noqa: E402
from tests.unit.hub.pgserver import PgServer  # noqa: E402
from wire import enrollment, protocol  # noqa: E402
from wire.keys import key_to_pem  # noqa: E402

OUTPOST = str(Path(sys.executable).parent / "outpost")
TARGET = 2000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the load process -------------------------------------------------------------------------


def signed_chains(agents: int, reports: int) -> tuple[list[bytes], list[list[tuple[str, bytes]]]]:
    """Enrollment bodies and, per agent, its chain of signed reports (10 simulated minutes)."""
    now = datetime.now(UTC)
    start = now - timedelta(seconds=60 * reports)
    enrolls, chains = [], []
    for number in range(agents):
        snap = snapshot(tenants=3, apps_per_tenant=2, uid=f"uid-{number}")
        key = Ed25519PrivateKey.generate()
        agent_id = protocol.agent_id_for(key.public_key())
        envelope = enrollment.sign_enrollment(key, f"uid-{number}", f"e{number}", now)
        enrolls.append(report.compact(envelope))
        state, chain = SyncState(agent_id=agent_id), []
        for seq in range(reports):
            when = start + timedelta(seconds=60 * seq)
            payload, state = report.build_report(snap, state, when, f"n{number}-{seq}")
            chain.append((f"/v1/agents/{agent_id}/reports", report.sign_report(payload, key)))
        chains.append(chain)
    return enrolls, chains


Job = tuple[str, bytes, str]  # path, body, bearer token ('' for none)


async def post_all(port: int, jobs: list[Job]) -> tuple[Counter[int], list[float]]:
    """One keep-alive connection sending its jobs in order; a minimal HTTP/1.1 client, so the
    load process spends little CPU of its own."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    for path, body, token in jobs:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (f"POST {path} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n{auth}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
        started = time.perf_counter()
        writer.write(head + body)
        await writer.drain()
        answer = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: (\d+)", answer)
        await reader.readexactly(int(length[1]) if length else 0)
        latencies.append(time.perf_counter() - started)
        statuses[int(answer[9:12])] += 1
    writer.close()
    return statuses, latencies


async def spread(port: int, lanes: list[list[tuple[str, bytes, str]]]) -> dict[str, object]:
    started = time.perf_counter()
    done = await asyncio.gather(*(post_all(port, lane) for lane in lanes if lane))
    wall = time.perf_counter() - started
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    for counted, measured in done:
        statuses += counted
        latencies += measured
    latencies.sort()
    return {
        "wall": wall, "statuses": {str(k): v for k, v in statuses.items()},
        "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)],
    }  # fmt: skip


def load(config: dict[str, object]) -> dict[str, object]:
    """Enroll every agent, then send every agent's chain (round by round, in seq order)."""
    port, lanes_n = int(config["port"]), int(config["connections"])  # type: ignore[call-overload]
    tokens = list(config["tokens"])  # type: ignore[call-overload]
    enrolls, chains = signed_chains(len(tokens), int(config["reports"]))  # type: ignore[call-overload]
    lanes: list[list[tuple[str, bytes, str]]] = [[] for _ in range(lanes_n)]
    for number, body in enumerate(enrolls):
        lanes[number % lanes_n].append(("/v1/enroll", body, tokens[number]))
    enrolled = asyncio.run(spread(port, lanes))
    lanes = [[] for _ in range(lanes_n)]
    for number, chain in enumerate(chains):  # an agent's reports stay on one connection, in order
        lanes[number % lanes_n].extend((path, body, "") for path, body in chain)
    return {"enroll": enrolled, "ingest": asyncio.run(spread(port, lanes))}


# ---- the driver --------------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants, from /proc."""
    total, seen, todo = 0.0, set(), list(pids)
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def db_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        base = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in base.parent.glob(base.name + "*"))
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def render_times(url: str, token: str, agent_id: str) -> dict[str, float]:
    """Median of 5 renders of each page, through HTTP with a viewer token."""
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for name, path in (("fleet", "/"), ("filtered", "/?health=ok&sort=customer&desc=1"),
                           ("install", f"/installs/{agent_id}")):  # fmt: skip
            times = []
            for _ in range(5):
                started = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append(time.perf_counter() - started)
            out[name] = statistics.median(times)
    return out


def run_one(
    label: str, db: str, workers: int, args: argparse.Namespace, work: Path
) -> dict[str, object]:
    key = work / f"{label}.pem"
    key.write_bytes(key_to_pem(Ed25519PrivateKey.generate()))
    store = open_store(db)
    hub = Hub(store, Ed25519PrivateKey.generate())
    tokens = [hub.create_token(timedelta(hours=2), f"customer-{i % 37:02d}", f"install-{i:04d}")
              for i in range(args.agents)]  # fmt: skip
    viewer = access.create(store, f"bench-{label}", "viewer", datetime.now(UTC))
    store.close()
    port = free_port()
    argv = [OUTPOST, "hub", "serve", "--db", db, "--hub-key", str(key), "--workers", str(workers),
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    log = (work / f"{label}.log").open("wb")
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        config = work / f"{label}.json"
        config.write_text(json.dumps({"port": port, "connections": args.connections,
                                      "tokens": tokens, "reports": args.reports}))  # fmt: skip
        size_before = db_bytes(db)
        watched = [server.pid, *args.db_pids]
        cpu_before = cpu_seconds(watched)
        loader = subprocess.run([sys.executable, __file__, "--load", str(config)],
                                capture_output=True, text=True, check=True)  # fmt: skip
        cpu_after = cpu_seconds(watched)
        result = json.loads(loader.stdout)
        size_after = db_bytes(db)
        first = open_store(db)
        some_agent = first.agents()[0].agent_id
        first.close()
        result["render"] = render_times(url, viewer, some_agent)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
    stored = result["ingest"]["statuses"].get("202", 0)
    result.update(stored=stored, cpu=cpu_after - cpu_before, growth=size_after - size_before)
    return result


def show(label: str, result: dict[str, object], agents: int) -> None:
    ingest = result["ingest"]
    stored, wall = result["stored"], ingest["wall"]  # type: ignore[index]
    rate = stored / wall
    per_install_day = result["growth"] / agents * 144  # type: ignore[operator]
    render = result["render"]
    print(
        f"{label}: {rate:7.0f} reports/s verified+stored ({rate / TARGET:.2f}x target {TARGET}/s)"
        f"  p50 {ingest['p50'] * 1000:.1f} ms  p99 {ingest['p99'] * 1000:.1f} ms"  # type: ignore[index]
        f"  ({stored} stored in {wall:.1f} s; statuses {ingest['statuses']})"
    )  # type: ignore[index]
    print(f"{'':>{len(label)}}  CPU per report {result['cpu'] / max(stored, 1) * 1000:.2f} ms"  # type: ignore[operator]
          f" (hub + database)  DB growth {per_install_day / 1024:.0f} KiB per install per day"
          f"  page at {agents} installs: fleet {render['fleet'] * 1000:.0f} ms, filtered "  # type: ignore[index]
          f"{render['filtered'] * 1000:.0f} ms, install {render['install'] * 1000:.0f} ms")  # type: ignore[index]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=3000)
    parser.add_argument("--reports", type=int, default=10)
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(json.loads(Path(args.load).read_text()))))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="outpost-bench-") as tmp:
        pg = PgServer(durable=True).start()
        try:
            pid_line = (pg.data / "postmaster.pid").read_text().splitlines()[0]
            args.db_pids = [int(pid_line)]
            results["PostgreSQL, 2 workers"] = run_one("pg", pg.fresh_schema(), 2, args, Path(tmp))
        finally:
            pg.stop()
        args.db_pids = []
        results["SQLite,     1 worker "] = run_one("sqlite", f"sqlite:///{tmp}/hub.db", 1, args,
                                                   Path(tmp))  # fmt: skip
    print(
        f"hub over HTTP: {args.agents} agents × {args.reports} reports (60 s apart, compressed),"
        f" {args.connections} keep-alive connections, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    for label, result in results.items():
        show(label, result, args.agents)


if __name__ == "__main__":
    main()
