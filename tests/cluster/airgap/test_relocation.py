"""End to end: import the sample bundle into a registry, run the agent, and find the sample
applications' Pods (scheduled on kwok nodes) pulling from the private registry by digest —
the Helm webapp (chart pulled back from the registry as an OCI artifact, values relocated over
the chart's defaults) and the plain-manifest report-api alike."""

from __future__ import annotations

import json

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.agent.agentkit import Agents, Kubectl, wait_for
from tests.cluster.airgap.kit import REPORT_API, WEBAPP, Site, imported

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
KINDS = "applications.outpost.dev,tenants.outpost.dev,dataplanes.outpost.dev"


def pod_images(kubectl: Kubectl, namespace: str) -> list[str]:
    proc = kubectl.run("get", "pods", "-n", namespace, "-o", "json", check=False)
    if proc.returncode != 0:
        return []
    pods = json.loads(proc.stdout)["items"]
    return [c["image"] for p in pods for c in p["spec"]["containers"]]


def test_agent_runs_the_sample_apps_from_the_private_registry_by_digest(
    site: Site, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, _ = site.bundle()
    target = f"{registry.netloc}/mirror"
    report = imported(site.run(bundle, target, "--insecure-http", "--output", "json"))
    digests = {i["source"]: i["target"] for i in report["images"]["images"]}
    monkeypatch.setenv("OUTPOST_TRUST_ROOT", str(site.keys.trust))
    agents = Agents(site.cluster, site.namespace, site.tmp)
    kubectl = site.kubectl
    try:
        agent = agents.start()
        web = wait_for(lambda: pod_images(kubectl, "web"), 180, "webapp pods")
        assert set(web) == {digests[WEBAPP]}, agent.tail()
        assert web[0].startswith(f"{target}/acme/webapp@sha256:")
        api = wait_for(lambda: pod_images(kubectl, "analytics"), 120, "report-api pods")
        assert set(api) == {digests[REPORT_API]}
        # Issue 11: the chart is pulled by the digest the import pushed, never by its tag.
        pushed = {c["chart"]: f"{c['url']}@{c['digest']}" for c in report["charts"]}
        specs = [a["spec"].get("helm") or {} for a in kubectl.items("applications.outpost.dev")]
        helms = [h for h in specs if str(h.get("chart", "")).startswith("oci://")]
        assert helms, "no relocated Helm application"
        assert {h["chart"] for h in helms} <= set(pushed.values()), (helms, pushed)
        # ...and every image the chart renders goes through the post-renderer's mapping.
        assert all(digests[WEBAPP] in (h.get("images") or {}).values() for h in helms), helms
    finally:
        # The Bundle first (else the agent re-applies what is deleted), then its objects while
        # the agent still runs to release their finalizers.
        kubectl.run("delete", "bundles", "-l", f"outpost.dev/product={site.product}", check=False)
        selector = f"outpost.dev/bundle-product={site.product}"
        kubectl.run("delete", KINDS, "-l", selector, "--timeout=90s", check=False)
        agents.stop_all()
