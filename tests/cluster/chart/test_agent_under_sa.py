"""End to end under least privilege: the agent process, run locally with a token minted for the
chart's ServiceAccount (nothing of the admin's), fully reconciles the sample tenants and
applications of `examples/bundle/resources/`.

The chart is installed first (its pods are faked by kwok and never act); the local process plays
the agent with exactly the rights and environment the chart gives it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import k8syaml
from tests.cluster.chart.release import (
    ROOT,
    Release,
    install,
    new_release_name,
    run,
    token_kubeconfig,
)
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
EXAMPLES = ROOT / "examples" / "bundle"
OUTPOST = Path(sys.executable).parent / "outpost"
# The vendor CRD of the example bundle; its CRs need a tenant-namespace rule of their own.
WIDGET_RULE = (
    "rbac.tenantExtraRules[0].apiGroups[0]=acme.example",
    "rbac.tenantExtraRules[0].resources[0]=widgets",
    *(
        f"rbac.tenantExtraRules[0].verbs[{i}]={v}"
        for i, v in enumerate(["get", "list", "watch", "create", "patch", "update", "delete"])
    ),
)
READY_APPS = ("webapp", "report-api")


def example_tenants() -> list[str]:
    """Names of the Tenants the example resources declare."""
    names = []
    for path in sorted((EXAMPLES / "resources").glob("*.yaml")):
        for doc in k8syaml.load_all(path.read_text()):
            if doc and doc.get("kind") == "Tenant":
                names.append(doc["metadata"]["name"])
    return names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _agent_env(cluster: Cluster, release: Release, tmp: Path) -> dict[str, str]:
    """The chart's environment for the agent, and no admin credentials at all."""
    env = {k: v for k, v in cluster.env.items() if k != "KUBECONFIG"}
    return {
        **env,
        "OUTPOST_TENANT_CLUSTERROLE": release.tenant_role,
        "OUTPOST_SERVICE_ACCOUNT": f"{release.namespace}/{release.service_account}",
        "OUTPOST_HELM": str(cluster.helm),
        "OUTPOST_CHART_ROOT": str(EXAMPLES),
        "OUTPOST_RESYNC_SECONDS": "10",
        "HELM_CACHE_HOME": str(tmp / "helm" / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "helm" / "config"),
        "HELM_DATA_HOME": str(tmp / "helm" / "data"),
    }


@pytest.fixture
def agent_release(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Release, Path]]:
    namespace = f"oa-e2e-{uuid.uuid4().hex[:6]}"
    cluster.kubectl_run("create", "namespace", namespace)
    # The customer installs the bundle's CRDs; the agent only reads CRDs.
    cluster.kubectl_run("apply", "-f", str(EXAMPLES / "crds"))
    release = Release(new_release_name(), namespace, cluster.helm)
    install(cluster, release, *(arg for kv in WIDGET_RULE for arg in ("--set", kv)))
    yield release, token_kubeconfig(cluster, release, tmp_path / "agent.kubeconfig")
    run(cluster, [str(cluster.helm), "uninstall", release.name, "-n", namespace], check=False)
    cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def test_agent_reconciles_examples_with_chart_rights(
    cluster: Cluster, agent_release: tuple[Release, Path], tmp_path: Path
) -> None:
    release, kubeconfig = agent_release
    log = (tmp_path / "agent.log").open("w")
    argv = [
        str(OUTPOST),
        "agent",
        "run",
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        release.namespace,
        "--metrics-port",
        str(_free_port()),
    ]
    agent = subprocess.Popen(
        argv,
        env=_agent_env(cluster, release, tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        cluster.kubectl_run("apply", "-f", str(EXAMPLES / "resources"))
        _wait_ready(cluster, tmp_path / "agent.log")
        # The agent removes its children and finalizers when the objects go.
        cluster.kubectl_run("delete", "-f", str(EXAMPLES / "resources"), "--timeout=100s")
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(timeout=60)
        log.close()
        _force_cleanup(cluster)


def _wait_ready(cluster: Cluster, log: Path) -> None:
    # The examples' own Tenants by name: earlier tests of the session may leave Tenants of other
    # agents behind (still deleting), which this agent has no rights to finish.
    waits = [*(("tenant", name) for name in example_tenants()),
             *(("applications", name) for name in READY_APPS)]  # fmt: skip
    for kind, which in waits:
        proc = cluster.kubectl_run(
            "wait", "--for=condition=Ready", kind, which, "--timeout=100s", check=False
        )
        if proc.returncode != 0:
            status = cluster.kubectl_run(
                "get", "tenants,applications", "-o", "yaml", check=False
            ).stdout
            tail = "\n".join(log.read_text().splitlines()[-40:])
            pytest.fail(
                f"{kind} {which} not Ready:\n{proc.stderr}\n{status[-4000:]}\n"
                f"agent log (tail):\n{tail}"
            )


def _force_cleanup(cluster: Cluster) -> None:
    """Leave no example object behind (they are cluster-scoped), even if the agent failed."""
    resources = str(EXAMPLES / "resources")
    listed = cluster.kubectl_run("get", "-f", resources, "-o", "name", check=False)
    for name in listed.stdout.split():
        cluster.kubectl_run(
            "patch", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False
        )
    cluster.kubectl_run(
        "delete", "-f", resources, "--ignore-not-found", "--wait=false", check=False
    )
    cluster.kubectl_run(
        "delete",
        "namespaces",
        "-l",
        "outpost.dev/managed-by=outpost-agent",
        "--wait=false",
        check=False,
    )
