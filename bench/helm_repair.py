"""Drift-repair benchmark (not a test): a Deployment of a Helm application deleted by hand, N
times, and the time until the agent has put it back; beside it the same for a manifest app.

    .venv/bin/python bench/helm_repair.py [--samples 20] [--state-dir DIR] [--helm PATH]

The Helm app is the corpus chart tests/data/charts/vendor-web (a Deployment, a StatefulSet from
its subchart, a Service, a `keep` ConfigMap) in a Tenant namespace; the manifest app holds one
Deployment. Each sample deletes the Deployment and polls it (every 20 ms) until it exists again.
Printed: p50 and p99 for both, and their ratio. The agent runs with a 600 s resync, so what is
measured is the watch → queue → repair path, not the periodic level trigger.
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
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from agent import api  # noqa: E402
from agent.kube.client import Kube  # noqa: E402
from agent.kube.kubeconfig import load_credentials  # noqa: E402
from devcluster import cluster  # noqa: E402

OUTPOST = Path(sys.executable).parent / "outpost"
RUN = uuid.uuid4().hex[:4]
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "plain"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "plain"}},
        "template": {
            "metadata": {"labels": {"app": "plain"}},
            "spec": {"containers": [{"name": "c", "image": "registry.example/plain:1"}]},
        },
    },
}


def objects(tenant: str, ns: str) -> list[dict[str, Any]]:
    """A Tenant, a Helm app (vendor-web) and a manifest app with one Deployment."""
    meta = {"apiVersion": api.API_VERSION}
    return [
        {**meta, "kind": "Tenant", "metadata": {"name": tenant}, "spec": {"namespaces": [ns]}},
        {**meta, "kind": "Application", "metadata": {"name": f"{tenant}-helm"},
         "spec": {"tenantRef": {"name": tenant}, "namespace": ns,
                  "helm": {"chart": "vendor-web", "values": {}}}},
        {**meta, "kind": "Application", "metadata": {"name": f"{tenant}-plain"},
         "spec": {"tenantRef": {"name": tenant}, "namespace": ns,
                  "manifests": {"objects": [DEPLOY]}}},
    ]  # fmt: skip


def start_agent(kubeconfig: Path, namespace: str, helm: str, work: Path) -> subprocess.Popen[bytes]:
    charts = work / "charts"
    shutil.copytree(ROOT / "tests" / "data" / "charts" / "vendor-web", charts / "vendor-web")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [str(OUTPOST), "agent", "run", "--kubeconfig", str(kubeconfig), "--namespace",
            namespace, "--metrics-port", str(port), "--helm", helm, "--chart-root", str(charts),
            "--resync", "600", "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "OUTPOST_LEASE_SECONDS": "6", "OUTPOST_RENEW_SECONDS": "2"}
    env |= {f"HELM_{p}_HOME": str(work / p.lower()) for p in ("CACHE", "CONFIG", "DATA")}
    log = (work / "agent.log").open("wb")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


async def ready(kube: Kube, name: str) -> bool:
    app = await kube.get(api.API_VERSION, "Application", name)
    conditions = ((app or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: timed out waiting for {what}; see the agent log")
        await asyncio.sleep(0.5)


async def repair_times(kube: Kube, name: str, ns: str, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        await kube.delete("apps/v1", "Deployment", name, ns)
        started = time.monotonic()
        while await kube.get("apps/v1", "Deployment", name, ns) is None:
            await asyncio.sleep(0.02)
        out.append(time.monotonic() - started)
        await asyncio.sleep(1.0)  # let the repaired object settle before the next deletion
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q + 0.5) - 1))], 3)


async def run(args: argparse.Namespace, kubeconfig: Path, work: Path) -> dict[str, Any]:
    kube = Kube(await load_credentials(str(kubeconfig), False), qps=1000, burst=1000, timeout=60)
    lease_ns, tenant, ns = f"outpost-bench-{RUN}", f"repair-{RUN}", f"repair-{RUN}-a"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": lease_ns}})
    agent = start_agent(kubeconfig, lease_ns, args.helm, work)
    try:
        for obj in objects(tenant, ns):
            await kube.apply(obj)
        await wait(lambda: ready(kube, f"{tenant}-helm"), 180, "the Helm app Ready")
        helm = await repair_times(kube, f"{tenant}-helm-web", ns, args.samples)
        # The manifest app needs only to exist (its Deployment is put back whatever its health).
        plain = await repair_times(kube, "plain", ns, args.samples)
    finally:
        agent.terminate()
        agent.wait(30)
        await kube.close()
    return {
        "samples": args.samples,
        "helm_app_deployment_repair_p50_s": p(helm, 0.5),
        "helm_app_deployment_repair_p99_s": p(helm, 0.99),
        "manifest_app_deployment_repair_p50_s": p(plain, 0.5),
        "manifest_app_deployment_repair_p99_s": p(plain, 0.99),
        "helm_over_manifest_p50_ratio": round(
            statistics.median(helm) / statistics.median(plain), 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--state-dir", type=Path, help="reuse a control plane from `outpost dev up`"
    )
    parser.add_argument("--helm", help="helm binary (default: the dev build's)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="outpost-bench-"))
    console = Console(stderr=True)
    own = args.state_dir is None
    state_dir = work / "cp" if own else args.state_dir
    state = cluster.up(state_dir, console) if own else cluster.require(state_dir)
    args.helm = args.helm or str(Path(state.bin_dir) / "helm")
    try:
        kubectl = Path(state.bin_dir) / "kubectl"
        env = {**os.environ, "KUBECONFIG": str(state.kubeconfig)}
        crds = str(ROOT / "charts/outpost-agent/files/crds")
        subprocess.run(
            [str(kubectl), "apply", "-f", crds], env=env, check=True, capture_output=True
        )
        result = asyncio.run(run(args, state.kubeconfig, work))
    finally:
        if own:
            cluster.down(state_dir, console)
    print(json.dumps(result, indent=2))
    print(f"agent log: {work / 'agent.log'}", file=sys.stderr)


if __name__ == "__main__":
    main()
