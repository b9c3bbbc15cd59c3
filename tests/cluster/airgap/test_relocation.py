"""End to end: import the sample bundle into a registry, run the agent, and find the sample
applications' Pods (scheduled on kwok nodes) pulling from the private registry by digest —
the Helm webapp (chart pulled back from the registry as an OCI artifact, values relocated over
the chart's defaults) and the plain-manifest report-api alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.agent.agentkit import Agents, Kubectl, wait_for
from tests.cluster.airgap.kit import SampleKeys, build_bundle, imported, run_import, sample_images
from tests.conftest import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
KINDS = "applications.outpost.dev,tenants.outpost.dev,dataplanes.outpost.dev"


def pod_images(kubectl: Kubectl, namespace: str) -> list[str]:
    proc = kubectl.run("get", "pods", "-n", namespace, "-o", "json", check=False)
    if proc.returncode != 0:
        return []
    pods = json.loads(proc.stdout)["items"]
    return [c["image"] for p in pods for c in p["spec"]["containers"]]


def test_agent_runs_the_sample_apps_from_the_private_registry_by_digest(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = build_bundle(keys, tmp_path, product, sample_images(tmp_path / "oci"))
    target = f"{registry.netloc}/mirror"
    flags = ("--insecure-http", "--output", "json")
    report = imported(run_import(cluster, bundle, keys, target, namespace, *flags))
    digests = {i["source"]: i["target"] for i in report["images"]["images"]}
    monkeypatch.setenv("OUTPOST_TRUST_ROOT", str(keys.trust))
    agents = Agents(cluster, namespace, tmp_path)
    try:
        agents.start()
        web = wait_for(
            lambda: pod_images(kubectl, "web"), 180, "webapp pods\n" + _status(kubectl, product)
        )
        assert set(web) == {digests["registry.acme.example/acme/webapp:1.4.2"]}
        assert web[0].startswith(f"{target}/acme/webapp@sha256:")
        api = wait_for(lambda: pod_images(kubectl, "analytics"), 120, "report-api pods")
        assert set(api) == {digests["registry.acme.example/acme/report-api:2.0.1"]}
    finally:
        selector = f"outpost.dev/bundle-product={product}"
        kubectl.run("delete", KINDS, "-l", selector, "--timeout=90s", check=False)
        agents.stop_all()


def _status(kubectl: Kubectl, product: str) -> str:
    proc = kubectl.run("get", "outpost", "-o", "wide", check=False)
    return proc.stdout + proc.stderr
