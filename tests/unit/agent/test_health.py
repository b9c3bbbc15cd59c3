"""kstatus-style health per kind, custom resources without status, and the inventory summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent.core.health.assess import assess, summarize
from agent.core.health.state import Health, HealthState
from agent.core.objects import ObjectRef

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
C, P, F, T, U = (
    HealthState.CURRENT,
    HealthState.IN_PROGRESS,
    HealthState.FAILED,
    HealthState.TERMINATING,
    HealthState.UNKNOWN,
)


def obj(api: str, kind: str, spec: Any = None, status: Any = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": "x", **meta}}
    if spec is not None:
        out["spec"] = spec
    if status is not None:
        out["status"] = status
    return out


def conds(*pairs: tuple[str, str], reason: str = "") -> list[dict[str, str]]:
    return [{"type": t, "status": s, "reason": reason, "message": f"{t} says so"} for t, s in pairs]


def deploy(**status: Any) -> dict[str, Any]:
    return obj("apps/v1", "Deployment", {"replicas": 2}, status, generation=1)


DEPLOY_OK = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
             "readyReplicas": 2}  # fmt: skip
ROLLED = {"updateStrategy": {"type": "RollingUpdate"}, "replicas": 1}

CASES = [
    pytest.param(deploy(**DEPLOY_OK), C, id="deployment-current"),
    pytest.param(deploy(**{**DEPLOY_OK, "availableReplicas": 1}), P, id="deployment-unavailable"),
    pytest.param(deploy(**{**DEPLOY_OK, "replicas": 3}), P, id="deployment-old-replicas"),
    pytest.param(deploy(**{**DEPLOY_OK, "observedGeneration": 0}), P, id="stale-generation"),
    pytest.param(
        deploy(conditions=conds(("Progressing", "False"), reason="ProgressDeadlineExceeded")),
        F,
        id="deployment-deadline",
    ),
    pytest.param(
        obj(
            "apps/v1",
            "StatefulSet",
            ROLLED,
            {
                "readyReplicas": 1,
                "currentReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "a",
            },
        ),
        C,
        id="statefulset-current",
    ),
    pytest.param(
        obj(
            "apps/v1",
            "StatefulSet",
            ROLLED,
            {
                "readyReplicas": 1,
                "currentReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "b",
            },
        ),
        P,
        id="statefulset-rolling",
    ),
    pytest.param(
        obj("apps/v1", "StatefulSet", {"updateStrategy": {"type": "OnDelete"}}, {}),
        C,
        id="statefulset-ondelete",
    ),
    pytest.param(obj("apps/v1", "DaemonSet", {}, {}), P, id="daemonset-unobserved"),
    pytest.param(
        obj(
            "apps/v1",
            "DaemonSet",
            {},
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
                "numberReady": 2,
            },
        ),
        C,
        id="daemonset-current",
    ),
    pytest.param(
        obj(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 1},
            {"fullyLabeledReplicas": 1, "availableReplicas": 1, "readyReplicas": 1},
        ),
        C,
        id="replicaset-current",
    ),
    pytest.param(
        obj("batch/v1", "Job", {}, {"conditions": conds(("Complete", "True"))}),
        C,
        id="job-complete",
    ),
    pytest.param(
        obj("batch/v1", "Job", {}, {"conditions": conds(("Failed", "True"))}), F, id="job-failed"
    ),
    pytest.param(obj("batch/v1", "Job", {}, {}), P, id="job-not-started"),
    pytest.param(
        obj("v1", "Pod", {}, {"phase": "Running", "conditions": conds(("Ready", "True"))}),
        C,
        id="pod-ready",
    ),
    pytest.param(obj("v1", "Pod", {}, {"phase": "Succeeded"}), C, id="pod-succeeded"),
    pytest.param(obj("v1", "Pod", {}, {"phase": "Failed"}), F, id="pod-failed"),
    pytest.param(
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
            },
        ),
        F,
        id="pod-crashloop",
    ),
    pytest.param(
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "lastTransitionTime": "2026-01-01T11:59:00Z",
                    }
                ],
            },
        ),
        F,
        id="pod-unschedulable-long",
    ),
    pytest.param(
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "lastTransitionTime": "2026-01-01T11:59:55Z",
                    }
                ],
            },
        ),
        P,
        id="pod-unschedulable-briefly",
    ),
    pytest.param(obj("v1", "PersistentVolumeClaim", {}, {"phase": "Bound"}), C, id="pvc-bound"),
    pytest.param(obj("v1", "PersistentVolumeClaim", {}, {"phase": "Pending"}), P, id="pvc-pending"),
    pytest.param(
        obj("v1", "Service", {"type": "ClusterIP", "clusterIP": "10.0.0.1"}), C, id="service"
    ),
    pytest.param(obj("v1", "Service", {"type": "LoadBalancer"}), P, id="service-lb-no-ip"),
    pytest.param(
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": conds(("Established", "True"), ("NamesAccepted", "True"))},
        ),
        C,
        id="crd-established",
    ),
    pytest.param(
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": conds(("NamesAccepted", "False"))},
        ),
        F,
        id="crd-names-rejected",
    ),
    pytest.param(obj("v1", "ConfigMap"), C, id="configmap"),
    pytest.param(obj("v1", "Secret"), C, id="secret"),
    pytest.param(obj("v1", "ServiceAccount"), C, id="serviceaccount"),
    pytest.param(
        obj("v1", "Namespace", {}, {"phase": "Terminating"}), T, id="namespace-terminating"
    ),
    pytest.param(
        obj("v1", "ConfigMap", deletionTimestamp="2026-01-01T00:00:00Z"), T, id="deleting"
    ),
    pytest.param(obj("acme.example/v1", "Widget", {"size": "small"}), U, id="cr-without-status"),
    pytest.param(
        obj("acme.example/v1", "Widget", {}, {"phase": "Done"}), U, id="cr-without-conditions"
    ),
    pytest.param(
        obj("acme.example/v1", "Widget", {}, {"conditions": conds(("Ready", "True"))}),
        C,
        id="cr-ready",
    ),
    pytest.param(
        obj("acme.example/v1", "Widget", {}, {"conditions": conds(("Ready", "False"))}),
        P,
        id="cr-not-ready",
    ),
    pytest.param(
        obj("acme.example/v1", "Widget", {}, {"conditions": conds(("Stalled", "True"))}),
        F,
        id="cr-stalled",
    ),
    pytest.param(
        obj("acme.example/v1", "Widget", {}, {"conditions": conds(("Reconciling", "True"))}),
        P,
        id="cr-reconciling",
    ),
]


@pytest.mark.parametrize(("live", "state"), CASES)
def test_assess(live: dict[str, Any], state: HealthState) -> None:
    assert assess(live, NOW).state is state


def ref(name: str) -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", "ns", name)


def test_summarize_names_worst_objects() -> None:
    items = [
        (ref("a"), Health(C)),
        (ref("b"), Health(F, "crash")),
        (ref("c"), Health(U)),
        (ref("d"), Health(F, "deadline")),
    ]
    summary = summarize(items)
    assert summary.state is F
    assert summary.counts == {"Current": 1, "InProgress": 0, "Failed": 2, "Terminating": 0,
                              "Unknown": 1}  # fmt: skip
    assert "2 of 4 objects are Failed" in summary.message
    assert "Deployment ns/b (crash)" in summary.message


def test_summarize_limits_names_and_handles_empty() -> None:
    items = [(ref(str(i)), Health(P)) for i in range(5)]
    assert summarize(items, limit=2).message.endswith("; …")
    assert summarize([]).state is C


def test_unknown_outranks_current_only() -> None:
    summary = summarize([(ref("a"), Health(C)), (ref("w"), Health(U, "no status"))])
    assert summary.state is U
