"""Agent scale benchmark (not a test): N tenants + N applications until all are Ready, next to a
lower bound measured in the same run, on the local control plane of `devcluster`.

    .venv/bin/python bench/agent_scale.py --n 100 1000 [--helm-charts 50] [--state-dir DIR]

One row per N (each on a fresh control plane unless --state-dir is given). The bound is a tight
async client (the agent's own REST client, no rate limit, 64 requests in flight)
server-side-applying exactly the child objects the agent renders for the same specs. Each row:
both times and their ratio, the agent's RSS at start, peak and idle, API requests, reads and
writes per object (an object is a tenant or an application), reads the watch cache answered,
writes made by an agent restarted over the converged cluster, and drift-repair latency p50/p99.
Applications are manifest apps (one ConfigMap each). The Helm row (--helm-charts K) runs K
tenants with one Helm application each; its bound is `helm upgrade --install` of the same chart
K times at the agent's helm concurrency, so helm's own cost shows apart from the agent's.
N = 10,000 runs the same way (`--n 10000`) but takes longer than `make bench` allows.
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

from agent import api  # noqa: E402
from agent.core.application.spec import render_manifests  # noqa: E402
from agent.core.tenant import render as tenancy  # noqa: E402
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
            tenant(f"bound-{RUN}{n}-{i}"),
            application(f"bound-app-{RUN}{n}-{i}", f"bound-{RUN}{n}-{i}"),
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
    def __init__(
        self, kubeconfig: Path, namespace: str, concurrency: int, log: Path, *extra: str
    ) -> None:
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
            *extra,
        ]
        env = {**os.environ, "OUTPOST_LEASE_SECONDS": "6", "OUTPOST_RENEW_SECONDS": "2"}
        self.proc = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def gauge(self, prefix: str) -> float:
        return sum(
            float(line.split()[-1])
            for line in self.metrics().splitlines()
            if line.startswith(prefix)
        )

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


async def drift_latency(kube: Kube, n: int, samples: int, tag: str) -> list[float]:
    out = []
    for i in range(samples):
        ns = f"agent-{tag}-{(i * 7) % n}"
        await kube.delete("networking.k8s.io/v1", "NetworkPolicy", "outpost-default-deny", ns)
        started = time.monotonic()
        while (
            await kube.get("networking.k8s.io/v1", "NetworkPolicy", "outpost-default-deny", ns)
            is None
        ):
            await asyncio.sleep(0.02)
        out.append(time.monotonic() - started)
    return out


def helm_app(name: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "tenantRef": {"name": owner},
            "namespace": owner,
            "helm": {"chart": "tiny-chart", "values": {"replicas": 1}},
        },
    }


async def helm_bound(kubeconfig: Path, helm: Path, k: int, concurrency: int) -> float:
    """`helm upgrade --install` of the chart K times, `concurrency` at once (helm's own cost)."""
    gate = asyncio.Semaphore(concurrency)
    chart = ROOT / "tests" / "data" / "tiny-chart"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    async def one(i: int) -> None:
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                str(helm), "upgrade", "--install", f"hb-{RUN}-{i}", str(chart),
                "--namespace", f"hb-{RUN}-{i}", "--create-namespace", "--set", "replicas=1",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await proc.wait()

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(k)))
    return time.monotonic() - started


async def run(
    args: argparse.Namespace, kubeconfig: Path, work: Path, n: int, helm: Path | None
) -> dict[str, Any]:
    """One row: N manifest tenants+apps, or (helm given) N tenants with one Helm app each."""
    tag = f"{RUN}{'h' if helm else ''}{n}"
    creds = await load_credentials(str(kubeconfig), False)
    kube = Kube(creds, qps=100000, burst=100000, timeout=60)
    extra: tuple[str, ...] = ()
    if helm is None:
        bound = await lower_bound(kube, n)
    else:
        bound = await helm_bound(kubeconfig, helm, n, args.helm_concurrency)
        extra = ("--helm", str(helm), "--chart-root", str(ROOT / "tests" / "data"))
    lease_ns = f"outpost-bench-{RUN}-{n}"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": lease_ns}})
    agent = AgentProc(kubeconfig, lease_ns, args.concurrency, work / f"agent-{n}.log", *extra)
    await asyncio.sleep(3)
    start_rss = agent.rss("VmRSS")
    make_app = application if helm is None else helm_app
    specs = [tenant(f"agent-{tag}-{i}") for i in range(n)]
    specs += [make_app(f"agent-app-{tag}-{i}", f"agent-{tag}-{i}") for i in range(n)]
    started = time.monotonic()
    await bounded(kube, specs)

    async def all_ready() -> bool:
        return bool(
            await count_ready(kube, "Tenant", f"agent-{tag}-") >= n
            and await count_ready(kube, "Application", f"agent-app-{tag}-") >= n
        )

    try:
        await wait_until(all_ready, 120 + n * (20 if helm else 2))  # helm waits for each rollout
    except SystemExit:
        agent.stop()  # never leave the agent running against a control plane going down
        raise
    total = time.monotonic() - started
    peak = agent.rss("VmHWM")
    await asyncio.sleep(20)  # idle: past the agent's periodic heap trim
    idle = agent.rss("VmRSS")
    counts = agent.counts()
    requests = sum(v for (verb, res), v in counts.items() if res != "leases")
    reads = sum(v for (verb, res), v in counts.items() if verb == "GET" and res != "leases")
    agent_writes = writes({k: int(v) for k, v in counts.items()})
    cache_reads = agent.gauge('outpost_reads_total{source="cache"}')
    cache_bytes = agent.gauge("outpost_cache_bytes{")
    drift = await drift_latency(kube, n, min(args.samples, n), tag)
    agent.stop()
    second = AgentProc(
        kubeconfig, lease_ns, args.concurrency, work / f"agent-restart-{n}.log", *extra
    )
    await wait_until(lambda: _visited(second, 2 * n), 120 + n)
    await asyncio.sleep(5)
    restart_writes = writes({k: int(v) for k, v in second.counts().items()})
    second.stop()
    await kube.close()
    objects = 2 * n
    return {
        "row": f"helm {n}" if helm else f"N={n}",
        "bound_s": round(bound, 2),
        "agent_s": round(total, 2),
        "ratio": round(total / bound, 2),
        "rss_start_mib": round(start_rss, 1),
        "rss_peak_mib": round(peak, 1),
        "rss_idle_mib": round(idle, 1),
        "cache_mib": round(cache_bytes / 2**20, 2),
        "requests_per_pair": round(requests / n, 1),
        "reads_per_obj": round(reads / objects, 2),
        "writes_per_obj": round(agent_writes / objects, 2),
        "cache_reads_per_obj": round(cache_reads / objects, 1),
        "restart_writes": restart_writes,
        "drift_p50_s": round(statistics.median(drift), 3),
        "drift_p99_s": round(sorted(drift)[max(0, int(len(drift) * 0.99) - 1)], 3),
    }


async def _visited(agent: AgentProc, at_least: int) -> bool:
    try:
        return agent.visits() >= at_least
    except OSError:
        return False


def table(rows: list[dict[str, Any]]) -> str:
    """The rows side by side, one column per figure."""
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(str(r[k]).ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def one_row(args: argparse.Namespace, work: Path, n: int, helm_row: bool) -> dict[str, Any]:
    console = Console(stderr=True)
    own = args.state_dir is None
    state_dir = work / f"cp-{n}-{helm_row}" if own else args.state_dir
    state = cluster.up(state_dir, console) if own else cluster.require(state_dir)
    try:
        kubectl = Path(state.bin_dir) / "kubectl"
        env = {**os.environ, "KUBECONFIG": str(state.kubeconfig)}
        crds = str(ROOT / "charts/outpost-agent/files/crds")
        subprocess.run(
            [str(kubectl), "apply", "-f", crds], env=env, check=True, capture_output=True
        )
        subprocess.run(
            [str(kubectl), "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
            env=env,
            check=True,
            capture_output=True,
        )
        helm = Path(state.bin_dir) / "helm" if helm_row else None
        return asyncio.run(run(args, state.kubeconfig, work, n, helm))
    finally:
        if own:
            cluster.down(state_dir, console)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--helm-charts", type=int, default=50, help="0: no Helm row")
    parser.add_argument("--helm-concurrency", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--state-dir", type=Path, help="reuse a control plane from `outpost dev up`"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="outpost-bench-"))
    plan = [(n, False) for n in args.n] + ([(args.helm_charts, True)] if args.helm_charts else [])
    rows = []
    for n, helm_row in plan:
        rows.append(one_row(args, work, n, helm_row))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # a late failure keeps it
    print(json.dumps(rows, indent=2))
    print(table(rows))
    if args.state_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
