"""Cluster-scoped objects of a chart, approved by the customer (issue 11, finding 10)."""

from __future__ import annotations

from agent import api
from agent.core.application.clusterscope import approvals, refusal, unapproved
from agent.core.application.decide import ApplicationObservation, decide_application
from agent.core.application.spec import AppSpec, revision
from agent.core.decision import failure_status
from tests.unit.agent.appkit import helm_app, ready_tenant
from tests.unit.agent.test_decide_app import NOW, with_status

RENDERED = [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ctl"}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "ctl"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "acme"}},
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "gateways.acme.example"}},
]  # fmt: skip


def test_only_approved_cluster_scoped_objects_pass() -> None:
    approved = approvals(["ClusterRole/ctl", " IngressClass/acme", ""], ["gateways.acme.example"])
    assert unapproved(RENDERED, approved) == []
    assert unapproved(RENDERED, approvals(["ClusterRole/ctl"], [])) == [
        "CustomResourceDefinition/gateways.acme.example",
        "IngressClass/acme",
    ]
    message = refusal(["IngressClass/acme"])
    assert "IngressClass/acme" in message
    assert "rbac.clusterScoped" in message


def test_a_refusal_is_tried_again_since_approvals_are_not_in_the_spec() -> None:
    obj = helm_app()
    rev = revision(AppSpec.from_object(obj), "a1")
    refused = failure_status(obj, api.Reason.CLUSTER_SCOPE_NOT_APPROVED, "no", NOW, stalled=True,
                             fields={"lastAttemptedRevision": rev})  # fmt: skip
    obs = ApplicationObservation(with_status(obj, refused), ready_tenant())
    assert decide_application(obs, NOW).helm is not None
