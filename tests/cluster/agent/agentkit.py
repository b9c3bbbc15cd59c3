"""Running `outpost agent run` as a real subprocess against the local control plane, and the
kubectl helpers the agent's cluster tests share (apply JSON, read JSON, wait for a condition)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import Cluster

ROOT = Path(__file__).resolve().parents[3]
OUTPOST = Path(sys.executable).parent / "outpost"
CRDS = ROOT / "charts" / "outpost-agent" / "files" / "crds"
CHART_ROOT = ROOT / "tests" / "data"
API = "outpost.dev/v1alpha1"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class Agent:
    """One agent process; `kill()` is a real SIGKILL."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    identity: str

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return str(resp.read().decode())

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/healthz", timeout=10
            ) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def gauge(self, name: str) -> float:
        """The metric's value; a name without labels sums every labelled series of it."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name + " ") or ("{" not in name and line.startswith(name + "{")):
                total += float(line.split()[-1])
        return total

    def write_lines(self) -> list[str]:
        """/metrics lines counting this process's writes, leaving out its Lease renewals."""
        return [
            line for line in self.metrics().splitlines()
            if line.startswith("outpost_api_requests_total{") and 'resource="leases"' not in line
            and line.split('verb="')[1].split('"')[0] in ("POST", "PUT", "PATCH", "DELETE")
        ]  # fmt: skip

    def writes(self) -> int:
        return sum(int(float(line.split()[-1])) for line in self.write_lines())

    def is_leader(self) -> bool:
        return self.gauge("outpost_leader") == 1.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Agents:
    """Starts agents for one test and stops every one of them afterwards."""

    cluster: Cluster
    namespace: str
    tmp: Path
    started: list[Agent] = field(default_factory=list)

    def chart_root(self) -> Path:
        """The test's chart root: the tiny chart, one whose templates cannot render, and the
        chart-shape corpus (tests/data/charts)."""
        root = self.tmp / "charts"
        if not root.exists():
            shutil.copytree(CHART_ROOT / "tiny-chart", root / "tiny-chart")
            for shaped in ("vendor-web", "vendor-ingress"):
                shutil.copytree(CHART_ROOT / "charts" / shaped, root / shaped)
            broken = root / "broken-chart"
            shutil.copytree(CHART_ROOT / "tiny-chart", broken)
            (broken / "templates" / "needs.yaml").write_text(
                '{{ required "values.mustBeSet is required" .Values.mustBeSet }}\n'
            )
        return root

    def command(self, port: int, identity: str, *extra: str) -> list[str]:
        """The `outpost agent run` argv for this test's namespace and chart root."""
        return [
            str(OUTPOST),
            "agent",
            "run",
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "--namespace",
            self.namespace,
            "--metrics-port",
            str(port),
            "--identity",
            identity,
            "--helm",
            str(self.cluster.helm),
            "--chart-root",
            str(self.chart_root()),
            "--resync",
            "20",
            "--write-qps",
            "200",
            "--write-burst",
            "400",
            *extra,
        ]

    def env(self) -> dict[str, str]:
        return {
            **self.cluster.env,
            "OUTPOST_LEASE_SECONDS": "6",
            "OUTPOST_RENEW_SECONDS": "2",
            "HELM_CACHE_HOME": str(self.tmp / "helm-cache"),
            "HELM_CONFIG_HOME": str(self.tmp / "helm-config"),
            "HELM_DATA_HOME": str(self.tmp / "helm-data"),
        }

    def start(self, *extra: str, identity: str = "", env: dict[str, str] | None = None) -> Agent:
        identity = identity or unique("agent")
        port = free_port()
        log = self.tmp / f"{identity}.log"
        argv, env = self.command(port, identity, *extra), {**self.env(), **(env or {})}
        handle = log.open("wb")
        proc = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        agent = Agent(proc, port, log, identity)
        self.started.append(agent)
        wait_for(lambda: _answers(agent), 60, f"agent {identity} to serve /metrics\n{log}")
        return agent

    def stop_all(self) -> None:
        for agent in self.started:
            agent.stop()


def _answers(agent: Agent) -> bool:
    if agent.proc.poll() is not None:
        raise AssertionError(f"agent exited with {agent.proc.returncode}:\n{agent.tail()}")
    try:
        agent.metrics()
    except OSError:
        return False
    return True


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Kubectl:
    """kubectl with JSON in and out."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.cluster.kubectl), *args],
            input=stdin,
            env=self.cluster.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def apply(self, *objs: dict[str, Any]) -> None:
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)})
        self.run("apply", "-f", "-", stdin=body)

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        args = ["get", kind, name, "-o", "json", *(["-n", namespace] if namespace else [])]
        proc = self.run(*args, check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def items(self, kind: str, namespace: str = "", selector: str = "") -> list[dict[str, Any]]:
        args = ["get", kind, "-o", "json", *(["-n", namespace] if namespace else ["-A"])]
        args += ["-l", selector] if selector else []
        return list(json.loads(self.run(*args).stdout)["items"])

    def delete(self, kind: str, name: str, namespace: str = "", wait: bool = False) -> None:
        args = ["delete", kind, name, f"--wait={str(wait).lower()}", "--ignore-not-found"]
        self.run(*args, *(["-n", namespace] if namespace else []))

    def condition(self, kind: str, name: str, type_: str = "Ready") -> dict[str, Any]:
        obj = self.get(kind, name) or {}
        for cond in (obj.get("status") or {}).get("conditions") or ():
            if cond.get("type") == type_:
                return dict(cond)
        return {}


def tenant(name: str, namespaces: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"namespaces": namespaces, **spec},
    }


def manifest_app(
    name: str, tenant_name: str, namespace: str, objects: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "tenantRef": {"name": tenant_name},
            "namespace": namespace,
            "manifests": {"objects": objects},
        },
    }


def helm_app(
    name: str, tenant_name: str, namespace: str, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "tenantRef": {"name": tenant_name},
            "namespace": namespace,
            "helm": {"chart": "tiny-chart", "values": values or {}},
        },
    }
