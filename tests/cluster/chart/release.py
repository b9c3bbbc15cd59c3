"""Installing the outpost-agent chart on the local control plane and acting as its ServiceAccount.

I/O: runs helm and kubectl against the session's API server; writes bearer-token kubeconfigs.
Each install uses its own release name, so the cluster-scoped objects (ClusterRoles, admission
policy) of different tests never collide.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import k8syaml
from tests.conftest import Cluster

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "outpost-agent"
CRD_DIR = CHART / "files" / "crds"
TIMEOUT = 240


@dataclass(frozen=True)
class Release:
    """One installed release of the chart."""

    name: str
    namespace: str
    helm: Path

    @property
    def fullname(self) -> str:
        return f"{self.name}-outpost-agent"

    @property
    def service_account(self) -> str:
        return self.fullname

    @property
    def tenant_role(self) -> str:
        return f"{self.fullname}-tenant"


def new_release_name() -> str:
    return f"oa-{uuid.uuid4().hex[:6]}"


def run(cluster: Cluster, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        argv, env=cluster.env, capture_output=True, text=True, check=False, timeout=TIMEOUT
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv[:3])} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def helm(cluster: Cluster, release: Release, *args: str) -> subprocess.CompletedProcess[str]:
    return run(cluster, [str(release.helm), *args, "-n", release.namespace])


def install(cluster: Cluster, release: Release, *values: str) -> None:
    """`helm install --wait`; CRDs are taken over, since earlier tests may have applied them."""
    helm(
        cluster,
        release,
        "install",
        release.name,
        str(CHART),
        "--wait",
        "--timeout",
        f"{TIMEOUT - 60}s",
        "--take-ownership",
        *values,
    )


def apply_crds(cluster: Cluster) -> None:
    cluster.kubectl_run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
    for path in sorted(CRD_DIR.glob("*.yaml")):
        name = k8syaml.load(path.read_text())["metadata"]["name"]
        cluster.kubectl_run("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def get_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl_run("get", *args, "-o", "json").stdout)


def token_kubeconfig(cluster: Cluster, release: Release, dest: Path) -> Path:
    """A kubeconfig that authenticates as the release's ServiceAccount (TokenRequest)."""
    token = cluster.kubectl_run(
        "create", "token", release.service_account, "-n", release.namespace, "--duration=2h"
    ).stdout.strip()
    admin = k8syaml.load(cluster.kubeconfig.read_text())
    cluster_entry = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": "agent", "user": {"token": token}}],
        "contexts": [
            {"name": "agent", "context": {"cluster": cluster_entry["name"], "user": "agent"}}
        ],
        "current-context": "agent",
    }
    dest.write_text(k8syaml.dump(config))
    dest.chmod(0o600)
    return dest


def as_agent(
    cluster: Cluster, kubeconfig: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as the agent's ServiceAccount; never raises, the caller reads the outcome."""
    return subprocess.run(
        [str(cluster.kubectl), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


Attempt = Callable[[], subprocess.CompletedProcess[str]]


def eventually(
    check: Attempt, want_ok: bool = True, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Retry `check()` until its exit status is what is wanted (RBAC and admission policies take
    effect a moment after they are created); returns the last attempt."""
    deadline = time.monotonic() + timeout
    while True:
        proc = check()
        if (proc.returncode == 0) == want_ok or time.monotonic() > deadline:
            return proc
        time.sleep(1)
