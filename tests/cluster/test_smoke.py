"""Smoke tests of the local control plane: real apiserver, kcm, scheduler and kwok together.

Covers: the server version, a Deployment becoming Available on kwok nodes, `helm install --wait`
with Helm 4 and Helm 3, a CRD that `kubectl explain` describes.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
TINY_CHART = Path(__file__).resolve().parents[1] / "data" / "tiny-chart"


def test_smoke_server_reports_pinned_version(cluster: Cluster) -> None:
    out = cluster.kubectl_run("version", "-o", "json").stdout
    assert json.loads(out)["serverVersion"]["gitVersion"] == "v1.36.3"


def test_smoke_two_kwok_nodes_are_ready(cluster: Cluster) -> None:
    out = cluster.kubectl_run("get", "nodes", "-o", "json").stdout
    nodes = json.loads(out)["items"]
    ready = [
        n
        for n in nodes
        for c in n["status"]["conditions"]
        if c["type"] == "Ready" and c["status"] == "True"
    ]
    assert len(ready) == 2
    assert all(n["status"]["allocatable"]["cpu"] == "8" for n in nodes)


def test_smoke_deployment_becomes_available(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl_run(
        "-n",
        namespace,
        "create",
        "deployment",
        "web",
        "--image=registry.invalid/web:1",
        "--replicas=2",
    )
    cluster.kubectl_run(
        "-n", namespace, "wait", "deployment/web", "--for=condition=Available", "--timeout=90s"
    )
    out = cluster.kubectl_run("-n", namespace, "get", "deployment", "web", "-o", "json").stdout
    assert json.loads(out)["status"]["availableReplicas"] == 2


@pytest.mark.parametrize("helm_name", ["helm", "helm3"])
def test_smoke_helm_install_wait(cluster: Cluster, namespace: str, helm_name: str) -> None:
    helm = cluster.bin_dir / helm_name
    proc = subprocess.run(
        [
            str(helm),
            "install",
            "tiny",
            str(TINY_CHART),
            "-n",
            namespace,
            "--wait",
            "--timeout",
            "120s",
        ],
        env=cluster.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    status = subprocess.run(
        [str(helm), "status", "tiny", "-n", namespace, "-o", "json"],
        env=cluster.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(status.stdout)["info"]["status"] == "deployed"


def test_smoke_crd_is_explained(cluster: Cluster, tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(
        textwrap.dedent("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: smokegadgets.smoke.outpost.dev}
        spec:
          group: smoke.outpost.dev
          scope: Cluster
          names: {plural: smokegadgets, singular: smokegadget, kind: SmokeGadget}
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  description: A gadget for the smoke test.
                  properties:
                    spec:
                      type: object
                      description: What the gadget should be.
                      properties:
                        size: {type: integer, description: How big the gadget is.}
    """)
    )
    cluster.kubectl_run("apply", "-f", str(crd))
    cluster.kubectl_run(
        "wait", "--for=condition=Established", "crd/smokegadgets.smoke.outpost.dev", "--timeout=60s"
    )
    # The published OpenAPI lags a few seconds behind Established; a fresh discovery cache
    # each try, since the shared one may predate the CRD.
    deadline = time.monotonic() + 60
    while True:
        proc = cluster.kubectl_run("--cache-dir", str(tmp_path / f"cache-{time.monotonic()}"),
                                   "explain", "smokegadgets.spec.size", check=False)  # fmt: skip
        if proc.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    out = proc.stdout + proc.stderr
    assert "How big the gadget is" in out
