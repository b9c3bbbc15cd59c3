"""Cluster-scoped objects of a vendor chart, declared and approved (issue 11, finding 10).

The vendor-ingress chart of the shape corpus renders a ClusterRole, a ClusterRoleBinding, an
IngressClass and, from its `crds/`, a CRD. With only the IngressClass approved, the agent
refuses the release before Helm runs, naming every other object (ClusterScopeNotApproved);
once the customer approves them all, the same spec installs, CRD included.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.agent.agentkit import API, Agents, Kubectl, unique, wait_for

pytestmark = pytest.mark.cluster
CRD = "gateways.ingress.example.com"


def ingress_app(name: str, namespace: str, ingress_class: str) -> dict[str, Any]:
    values = {"controller": {"ingressClass": ingress_class}}
    helm = {"chart": "vendor-ingress", "values": values}
    spec = {"namespace": namespace, "helm": helm}
    return {"apiVersion": API, "kind": "Application", "metadata": {"name": name}, "spec": spec}


def test_unapproved_cluster_scoped_objects_are_refused_by_name_then_installed_once_approved(
    kubectl: Kubectl, agents: Agents, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, ns, cls = unique("ingress"), unique("ingress-ns"), unique("cls")
    monkeypatch.setenv("OUTPOST_CLUSTER_SCOPED", f"IngressClass/{cls}")
    first = agents.start()
    try:
        kubectl.apply(ingress_app(app, ns, cls))
        wait_for(
            lambda: (
                kubectl.condition("application", app, "Stalled").get("reason")
                == "ClusterScopeNotApproved"
            ),
            120,
            "ClusterScopeNotApproved",
        )
        message = kubectl.condition("application", app)["message"]
        for named in (f"ClusterRole/{app}-controller", f"ClusterRoleBinding/{app}-controller",
                      f"CustomResourceDefinition/{CRD}"):  # fmt: skip
            assert named in message, message
        assert f"IngressClass/{cls}" not in message
        assert kubectl.items("secret", ns, f"owner=helm,name={app}") == []  # helm never ran
        first.stop()
        approved = f"IngressClass/{cls},ClusterRole/{app}-controller"
        monkeypatch.setenv(
            "OUTPOST_CLUSTER_SCOPED", f"{approved},ClusterRoleBinding/{app}-controller"
        )
        monkeypatch.setenv("OUTPOST_BUNDLE_CRDS", CRD)
        agents.start()
        wait_for(
            lambda: kubectl.condition("application", app).get("status") == "True",
            120,
            "installed once approved",
        )
        assert kubectl.get("ingressclass", cls)
        assert kubectl.get("crd", CRD)
    finally:
        kubectl.delete("application", app)
        kubectl.run("wait", "--for=delete", f"application/{app}", "--timeout=90s", check=False)
        kubectl.delete("crd", CRD)
