"""Usage metering on the real control plane (kwok runs the pods): pods with known requests over
several short windows, a kill -9 of the agent mid-window, then an air-gapped export uploaded to a
hub. Every closed window must equal requests × covered seconds within 2 %, none lost or doubled,
and uploading the same export again must change nothing."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.usage import windows
from facts import rfc3339
from hub.service import Hub
from hub.sqlite import SqliteStore
from tests.cluster.agent.agentkit import OUTPOST, Agents, Kubectl, unique, wait_for

WINDOW = 10
"""The smallest window the agent accepts: several close within a short test."""
CPU = {"a": "500m", "b": "250m"}


def pod(name: str, namespace: str, cpu: str) -> dict[str, object]:
    container = {"name": "app", "image": "registry.invalid/app:1",
                 "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}  # fmt: skip
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [container]}}  # fmt: skip


def started(kubectl: Kubectl, namespace: str) -> dict[str, datetime]:
    out = {}
    for item in kubectl.items("pod", namespace):
        moment = rfc3339.parse_time(item.get("status", {}).get("startTime"))
        if moment is not None and item["status"].get("phase") == "Running":
            out[item["metadata"]["name"]] = moment
    return out


def both_running(kubectl: Kubectl, namespace: str) -> dict[str, datetime] | None:
    found = started(kubectl, namespace)
    return found if len(found) == len(CPU) else None


def expected(window: datetime, starts: dict[str, datetime]) -> float:
    end = window + timedelta(seconds=WINDOW)
    total = 0.0
    for name, start in starts.items():
        cores = int(CPU[name].rstrip("m")) / 1000
        total += cores * max(0.0, (end - max(start, window)).total_seconds())
    return total


def test_windows_survive_kill_and_export_once(
    kubectl: Kubectl, agents: Agents, namespace: str, tmp_path: Path
) -> None:
    tenant_ns, tenant = unique("usage"), unique("acme")
    kubectl.run("create", "namespace", tenant_ns)
    kubectl.run("label", "namespace", tenant_ns, f"outpost.dev/tenant={tenant}")
    try:
        kubectl.apply(*(pod(n, tenant_ns, c) for n, c in CPU.items()))
        starts = wait_for(lambda: both_running(kubectl, tenant_ns), 60, "both pods running")
        assert starts is not None
        first = agents.start("--usage-window-seconds", str(WINDOW))
        gauge = f'outpost_usage_open_window{{tenant="{tenant}",meter="cpu_core_seconds"}}'
        wait_for(lambda: gauge in first.metrics(), 30, "the agent's /metrics to show the meter")
        time.sleep(2.5 * WINDOW)  # mid-window
        first.kill()
        time.sleep(WINDOW)  # the agent is down across a window boundary
        agents.start("--usage-window-seconds", str(WINDOW))
        time.sleep(3 * WINDOW)
        out = tmp_path / "export.jsonl"
        subprocess.run(
            [str(OUTPOST), "status", "export", "--kubeconfig", str(agents.cluster.kubeconfig),
             "--namespace", namespace, "--out", str(out)],
            check=True, capture_output=True, env=agents.cluster.env, timeout=120,
        )  # fmt: skip
        hub = Hub(SqliteStore(str(tmp_path / "hub.db")), Ed25519PrivateKey.generate())
        token = hub.create_token()
        first_upload = hub.upload(out.read_bytes(), token)
        assert first_upload.status == 200, first_upload.body
        assert hub.usage is not None
        span = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
        rows = [r for r in hub.usage.rows(*span) if r.record.tenant == tenant]
        cpu = {r.record.window_start: r.record.quantity for r in rows
               if r.record.meter == "cpu_core_seconds"}  # fmt: skip
        assert len(cpu) >= 5, cpu
        ordered = sorted(cpu)
        assert ordered == [ordered[0] + timedelta(seconds=WINDOW * i) for i in range(len(ordered))]
        for window in ordered[1:]:  # the first window began before metering did
            want = expected(window, starts)
            assert abs(cpu[window] - want) <= 0.02 * want, (window, cpu[window], want)
        hub.upload(out.read_bytes(), token)  # the same file again: nothing doubles
        again = [r for r in hub.usage.rows(*span) if r.record.tenant == tenant]
        assert again == rows
    finally:
        kubectl.run("delete", "namespace", tenant_ns, "--wait=false", check=False)


def export(agents: Agents, namespace: str, out: Path) -> bytes:
    subprocess.run(
        [str(OUTPOST), "status", "export", "--kubeconfig", str(agents.cluster.kubeconfig),
         "--namespace", namespace, "--out", str(out), "--force"],
        check=True, capture_output=True, env=agents.cluster.env, timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def completed_pod(kubectl: Kubectl, namespace: str, start: datetime, end: datetime) -> None:
    """A pod that ran 1 core from `start` to `end` and was only now seen: bound to a node no
    kubelet runs, so its status is what we write (the pod collector removes it soon after)."""
    spec = pod("late", namespace, "1")
    spec["spec"] = {**spec["spec"], "nodeName": "no-such-node"}  # type: ignore[dict-item]
    kubectl.apply(spec)
    t1, t2 = (rfc3339.format_time(t) for t in (start, end))
    state = {"terminated": {"exitCode": 0, "startedAt": t1, "finishedAt": t2}}
    status = {"phase": "Succeeded", "startTime": t1, "containerStatuses": [
        {"name": "app", "image": "registry.invalid/app:1", "imageID": "", "ready": False,
         "restartCount": 0, "state": state}]}  # fmt: skip
    kubectl.run("patch", "pod", "late", "-n", namespace, "--subresource=status",
                "--type=merge", "-p", json.dumps({"status": status}))  # fmt: skip


def test_a_window_reissued_with_a_higher_revision_wins_at_the_hub(
    kubectl: Kubectl, agents: Agents, namespace: str, tmp_path: Path
) -> None:
    tenant_ns, tenant = unique("usage"), unique("acme")
    kubectl.run("create", "namespace", tenant_ns)
    kubectl.run("label", "namespace", tenant_ns, f"outpost.dev/tenant={tenant}")
    try:
        agents.start("--usage-window-seconds", str(WINDOW))
        time.sleep(3 * WINDOW)
        before = export(agents, namespace, tmp_path / "before.jsonl")  # revision 1 of each window
        now = datetime.now(UTC)
        window = windows.window_of(now, WINDOW) - timedelta(seconds=2 * WINDOW)  # closed
        completed_pod(
            kubectl, tenant_ns, window + timedelta(seconds=2), window + timedelta(seconds=7)
        )
        time.sleep(WINDOW)
        after = export(agents, namespace, tmp_path / "after.jsonl")
        hub = Hub(SqliteStore(str(tmp_path / "hub.db")), Ed25519PrivateKey.generate())
        token = hub.create_token()
        for body in (before, after, before):  # the older revision arrives again, last
            assert hub.upload(body, token).status == 200
        assert hub.usage is not None
        rows = hub.usage.rows(window, window + timedelta(seconds=WINDOW), tenant=tenant)
        [cpu] = [r.record for r in rows if r.record.meter == "cpu_core_seconds"]
        assert cpu.revision == 2
        assert abs(cpu.quantity - 5.0) <= 0.02 * 5.0
    finally:
        kubectl.run("delete", "namespace", tenant_ns, "--wait=false", check=False)
