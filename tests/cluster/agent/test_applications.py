"""Applications on the real control plane: a Helm app becomes Ready when its Deployment is
Available (kwok runs the pods), a manifest app, a status-less custom resource, a chart that does
not render, a failed upgrade that keeps the deployed revision, and a stuck pending-upgrade."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from tests.cluster.agent.agentkit import (
    Agents,
    Kubectl,
    helm_app,
    manifest_app,
    tenant,
    unique,
    wait_for,
)

pytestmark = pytest.mark.cluster
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}
GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.agenttest.outpost.dev"},
    "spec": {
        "group": "agenttest.outpost.dev",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def _tenant_ready(kubectl: Kubectl, made: list[tuple[str, str]]) -> tuple[str, str]:
    name, ns = unique("apps"), unique("apps-a")
    made.append(("tenant", name))
    kubectl.apply(tenant(name, [ns]))
    kubectl.run("wait", "--for=condition=Ready", f"tenant/{name}", "--timeout=60s")
    return name, ns


def _releases(kubectl: Kubectl, ns: str, release: str) -> list[dict[str, Any]]:
    secrets = kubectl.items("secret", ns, f"owner=helm,name={release}")
    return sorted(secrets, key=lambda s: int(s["metadata"]["labels"]["version"]))


def _statuses(kubectl: Kubectl, ns: str, release: str) -> list[str]:
    return [s["metadata"]["labels"]["status"] for s in _releases(kubectl, ns, release)]


def test_helm_and_manifest_apps_become_ready_and_a_statusless_resource_is_unknown(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    kubectl.apply(GADGET_CRD)
    kubectl.run(
        "wait", "--for=condition=Established", "crd/gadgets.agenttest.outpost.dev", "--timeout=30s"
    )
    agents.start()
    owner, ns = _tenant_ready(kubectl, made)
    web, conf, gadget = unique("web"), unique("conf"), unique("gadget")
    made.extend([("application", web), ("application", conf), ("application", gadget)])
    widget = {
        "apiVersion": "agenttest.outpost.dev/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "size": 3,
    }
    kubectl.apply(
        helm_app(web, owner, ns, {"replicas": 2}),
        manifest_app(conf, owner, ns, [CM]),
        manifest_app(gadget, owner, ns, [widget]),
    )
    for app in (web, conf):
        proc = kubectl.run(
            "wait", "--for=condition=Ready", f"application/{app}", "--timeout=90s", check=False
        )
        assert proc.returncode == 0, kubectl.get("application", app)
    deployment = kubectl.get("deployment", web, ns) or {}
    assert deployment["status"].get("availableReplicas") == 2
    wait_for(
        lambda: (
            kubectl.condition("application", gadget).get("reason") == "CustomResourceHealthUnknown"
        ),
        60,
        "a status-less custom resource to make health Unknown",
    )
    assert kubectl.condition("application", gadget)["status"] == "Unknown"


def test_chart_that_does_not_render_stalls_and_installs_nothing(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    owner, ns = _tenant_ready(kubectl, made)
    app = unique("norender")
    made.append(("application", app))
    broken = helm_app(app, owner, ns)
    broken["spec"]["helm"]["chart"] = "broken-chart"
    kubectl.apply(broken)
    wait_for(
        lambda: (
            kubectl.condition("application", app, "Stalled").get("reason") == "ChartRenderFailed"
        ),
        60,
        "ChartRenderFailed",
    )
    assert kubectl.condition("application", app)["status"] == "False"
    assert _releases(kubectl, ns, app) == []


def test_failed_upgrade_keeps_the_deployed_revision_and_stalls(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    owner, ns = _tenant_ready(kubectl, made)
    app = unique("upg")
    made.append(("application", app))
    kubectl.apply(helm_app(app, owner, ns, {"replicas": 1}))
    kubectl.run("wait", "--for=condition=Ready", f"application/{app}", "--timeout=90s")
    kubectl.apply(helm_app(app, owner, ns, {"replicas": "lots"}))  # renders, but the API refuses it
    wait_for(
        lambda: (
            kubectl.condition("application", app, "Stalled").get("reason") == "HelmReleaseFailed"
        ),
        90,
        "HelmReleaseFailed",
    )
    assert _statuses(kubectl, ns, app)[0] == "deployed"
    assert (kubectl.get("deployment", app, ns) or {})["spec"]["replicas"] == 1
    kubectl.apply(helm_app(app, owner, ns, {"replicas": 2}))  # a new generation retries
    wait_for(
        lambda: kubectl.condition("application", app).get("status") == "True", 90, "Ready again"
    )
    assert _statuses(kubectl, ns, app)[-1] == "deployed"


def _encode(record: dict[str, Any]) -> str:
    inner = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    return base64.b64encode(inner).decode()


def test_release_left_pending_upgrade_is_recovered(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agent = agents.start()
    owner, ns = _tenant_ready(kubectl, made)
    app = unique("stuck")
    made.append(("application", app))
    kubectl.apply(helm_app(app, owner, ns, {"replicas": 1}))
    kubectl.run("wait", "--for=condition=Ready", f"application/{app}", "--timeout=90s")
    agent.stop()
    # What a helm killed mid-upgrade leaves: revision 2 recorded as pending-upgrade.
    latest = _releases(kubectl, ns, app)[-1]
    record = json.loads(
        gzip.decompress(base64.b64decode(base64.b64decode(latest["data"]["release"])))
    )
    record["version"], record["info"]["status"] = 2, "pending-upgrade"
    labels = {**latest["metadata"]["labels"], "version": "2", "status": "pending-upgrade"}
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": latest["type"],
            "metadata": {"name": f"sh.helm.release.v1.{app}.v2", "namespace": ns, "labels": labels},
            "data": {"release": _encode(record)},
        }
    )
    proc = kubectl.run(
        "--kubeconfig", str(kubectl.cluster.kubeconfig), "get", "secret", "-n", ns, check=False
    )
    assert f"sh.helm.release.v1.{app}.v2" in proc.stdout
    agents.start()
    wait_for(
        lambda: (
            _statuses(kubectl, ns, app)[-1] == "deployed"
            and not [s for s in _statuses(kubectl, ns, app) if s.startswith("pending")]
        ),
        90,
        "the pending upgrade to be rolled back",
    )
    wait_for(lambda: kubectl.condition("application", app).get("status") == "True", 60, "Ready")
