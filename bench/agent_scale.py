"""Agent scale benchmark (not a test): N tenants + N applications until all are Ready, next to a
lower bound measured in the same run, on the local control plane of `devcluster`.

    .venv/bin/python bench/agent_scale.py --n 100 [--state-dir DIR] [--concurrency 16]

The bound is a tight async client (the agent's own REST client, no rate limit, 64 requests in
flight) server-side-applying exactly the child objects the agent renders for the same specs.
Printed: both times and their ratio, the agent's peak and idle RSS, API requests per tenant,
writes made by an agent restarted over the converged cluster, and drift-repair latency p50/p99.
Applications are manifest apps (one ConfigMap each): Helm apps would measure helm, not the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from agent import api, tenancy  # noqa: E402
from agent.core.application.spec import render_manifests  # noqa: E402
from agent.core.tenant.spec import TenantDefaults, TenantSpec  # noqa: E402
from agent.kube.client import Kube, writes  # noqa: E402
from agent.kube.kubeconfig import load_credentials  # noqa: E402
from devcluster import cluster  # noqa: E402

OUTPOST = Path(sys.executable).parent / "outpost"
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}
IN_FLIGHT = 64
RUN = uuid.uuid4().hex[:4]  # names differ per run, so a reused control plane works too


def tenant(name: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {
            "namespaces": [name],
            "quota": {"hard": {"pods": "20"}},
            "limitRange": {"default": {"cpu": "500m"}},
            "owners": [{"kind": "Group", "name": "devs"}],
        },
    }


def application(name: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {"tenantRef": {"name": owner}, "namespace": owner, "manifests": {"objects": [CM]}},
    }


def children(t: dict[str, Any], app: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """What the agent applies for one tenant and its app: (namespaces, the rest)."""
    t = {**t, "metadata": {**t["metadata"], "uid": str(uuid.uuid4())}}
    app = {**app, "metadata": {**app["metadata"], "uid": str(uuid.uuid4())}}
    objs = tenancy.render(t, TenantSpec.from_dict(t["spec"], TenantDefaults()))
    rendered = render_manifests(app, t["metadata"]["name"])
    assert isinstance(rendered, list)
    for obj in [*objs, *rendered]:  # no live owner here: the garbage collector would reap them
        obj["metadata"].pop("ownerReferences", None)
    return [o for o in objs if o["kind"] == "Namespace"], [
        o for o in objs if o["kind"] != "Namespace"
    ] + rendered


async def bounded(kube: Kube, objs: list[Any]) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(obj: Any) -> None:
        async with gate:
            await kube.apply(obj)

    await asyncio.gather(*(one(o) for o in objs))


async def lower_bound(kube: Kube, n: int) -> float:
    pairs = [
        children(
            tenant(f"bound-{RUN}-{i}"), application(f"bound-app-{RUN}-{i}", f"bound-{RUN}-{i}")
        )
        for i in range(n)
    ]
    started = time.monotonic()
    await bounded(kube, [o for ns, _ in pairs for o in ns])
    await bounded(kube, [o for _, rest in pairs for o in rest])
    return time.monotonic() - started


async def count_ready(kube: Kube, kind: str, prefix: str) -> int:
    items = await kube.list_objects(api.API_VERSION, kind)
    return sum(
        1
        for o in items
        if o["metadata"]["name"].startswith(prefix)
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (o.get("status") or {}).get("conditions") or ()
        )
    )


class AgentProc:
    def __init__(self, kubeconfig: Path, namespace: str, concurrency: int, log: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        argv = [
            str(OUTPOST),
            "agent",
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "--namespace",
            namespace,
            "--metrics-port",
            str(self.port),
            "--concurrency",
            str(concurrency),
            "--resync",
            "600",
            "--write-qps",
            "2000",
            "--write-burst",
            "2000",
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "OUTPOST_LEASE_SECONDS": "6", "OUTPOST_RENEW_SECONDS": "2"}
        self.proc = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def counts(self) -> dict[tuple[str, str], float]:
        out = {}
        for line in self.metrics().splitlines():
            if line.startswith("outpost_api_requests_total{"):
                verb = line.split('verb="')[1].split('"')[0]
                resource = line.split('resource="')[1].split('"')[0]
                out[(verb, resource)] = float(line.split()[-1])
        return out

    def visits(self) -> int:
        return sum(
            int(float(line.split()[-1]))
            for line in self.metrics().splitlines()
            if line.startswith("outpost_reconcile_total{")
        )

    def rss(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


async def wait_until(check: Any, timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit("benchmark: timed out waiting; see the agent log")
        await asyncio.sleep(interval)


async def drift_latency(kube: Kube, n: int, samples: int) -> list[float]:
    out = []
    for i in range(samples):
        ns = f"agent-{RUN}-{(i * 7) % n}"
        await kube.delete("networking.k8s.io/v1", "NetworkPolicy", "outpost-default-deny", ns)
        started = time.monotonic()
        while (
            await kube.get("networking.k8s.io/v1", "NetworkPolicy", "outpost-default-deny", ns)
            is None
        ):
            await asyncio.sleep(0.02)
        out.append(time.monotonic() - started)
    return out


async def run(args: argparse.Namespace, kubeconfig: Path, work: Path) -> dict[str, Any]:
    creds = await load_credentials(str(kubeconfig), False)
    kube = Kube(creds, qps=100000, burst=100000, timeout=60)
    bound = await lower_bound(kube, args.n)
    lease_ns = f"outpost-bench-{RUN}"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": lease_ns}})
    agent = AgentProc(kubeconfig, lease_ns, args.concurrency, work / "agent.log")
    await asyncio.sleep(3)
    start_rss = agent.rss("VmRSS")
    specs = [tenant(f"agent-{RUN}-{i}") for i in range(args.n)]
    specs += [application(f"agent-app-{RUN}-{i}", f"agent-{RUN}-{i}") for i in range(args.n)]
    started = time.monotonic()
    await bounded(kube, specs)

    async def all_ready() -> bool:
        return bool(
            await count_ready(kube, "Tenant", f"agent-{RUN}-") >= args.n
            and await count_ready(kube, "Application", f"agent-app-{RUN}-") >= args.n
        )

    await wait_until(all_ready, 60 + args.n * 2)
    total = time.monotonic() - started
    peak = agent.rss("VmHWM")
    await asyncio.sleep(20)  # idle: past the agent's periodic heap trim
    idle = agent.rss("VmRSS")
    requests = sum(v for (verb, res), v in agent.counts().items() if res != "leases")
    agent_writes = writes({k: int(v) for k, v in agent.counts().items()})
    drift = await drift_latency(kube, args.n, args.samples)
    agent.stop()
    second = AgentProc(kubeconfig, lease_ns, args.concurrency, work / "agent-restart.log")
    await wait_until(lambda: _visited(second, 2 * args.n), 120 + args.n)
    await asyncio.sleep(5)
    restart_writes = writes({k: int(v) for k, v in second.counts().items()})
    second.stop()
    await kube.close()
    return {
        "n": args.n,
        "bound_seconds": round(bound, 2),
        "agent_seconds": round(total, 2),
        "ratio": round(total / bound, 2),
        "agent_start_rss_mib": round(start_rss, 1),
        "agent_peak_rss_mib": round(peak, 1),
        "agent_idle_rss_mib": round(idle, 1),
        "requests_per_tenant": round(requests / args.n, 1),
        "writes_per_tenant": round(agent_writes / args.n, 1),
        "writes_on_insync_restart": restart_writes,
        "drift_repair_p50_s": round(statistics.median(drift), 3),
        "drift_repair_p99_s": round(sorted(drift)[max(0, int(len(drift) * 0.99) - 1)], 3),
    }


async def _visited(agent: AgentProc, at_least: int) -> bool:
    try:
        return agent.visits() >= at_least
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--state-dir", type=Path, help="reuse a control plane from `outpost dev up`"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="outpost-bench-"))
    console = Console(stderr=True)
    own = args.state_dir is None
    state_dir = work / "cp" if own else args.state_dir
    state = cluster.up(state_dir, console) if own else cluster.require(state_dir)
    try:
        kubectl = Path(state.bin_dir) / "kubectl"
        env = {**os.environ, "KUBECONFIG": str(state.kubeconfig)}
        subprocess.run(
            [str(kubectl), "apply", "-f", str(ROOT / "charts/outpost-agent/files/crds")],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(kubectl), "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
            env=env,
            check=True,
            capture_output=True,
        )
        result = asyncio.run(run(args, state.kubeconfig, work))
    finally:
        if own:
            cluster.down(state_dir, console)
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True) if own else None


if __name__ == "__main__":
    main()
