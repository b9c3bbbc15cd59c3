"""Application decisions: manifests, Helm, health outcomes, problems, suspend, deletion."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from agent import api
from agent.core.application.decide import ApplicationObservation, HelmRelease, decide_application
from agent.core.application.spec import (
    AppSpec,
    describe_revision,
    release_name,
    revision,
    revision_of,
)
from agent.core.decision import Decision, failure_status
from agent.core.objects import ObjectRef, ref_of
from tests.unit.agent.appkit import DEPLOY, app, helm_app, manifest_app, ready_tenant
from tests.unit.agent.tenantkit import tenant

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
HEALTHY = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
           "readyReplicas": 1}  # fmt: skip


def types(decision: Decision) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in decision.conditions}


def with_status(obj: dict[str, Any], decision: Decision) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["status"] = decision.status or obj.get("status")
    return out


def live_of(objs: tuple[dict[str, Any], ...], healthy: bool = True) -> dict[ObjectRef, Any]:
    live = {}
    for obj in copy.deepcopy(objs):
        obj["metadata"]["generation"] = 1
        if obj["kind"] == "Deployment":
            obj["status"] = HEALTHY if healthy else {**HEALTHY, "availableReplicas": 0}
        live[ref_of(obj)] = obj
    return live


def visit(obj: dict[str, Any], **obs: Any) -> Decision:
    return decide_application(ApplicationObservation(obj, **obs), NOW)


def test_manifest_app_first_visit_applies_and_progresses() -> None:
    decision = visit(manifest_app(), tenant=ready_tenant())
    assert sorted(o["kind"] for o in decision.apply) == ["ConfigMap", "Deployment"]
    assert types(decision) == {"Ready": ("False", "Progressing"),
                               "Reconciling": ("True", "Progressing")}  # fmt: skip
    assert decision.requeue_after
    status = decision.status
    assert status is not None
    assert status["namespace"] == "a1"
    assert len(status["inventory"]) == 2
    assert "lastAppliedRevision" not in status


def test_manifest_app_converges_then_makes_zero_writes() -> None:
    obj = manifest_app()
    first = visit(obj, tenant=ready_tenant())
    second = visit(with_status(obj, first), tenant=ready_tenant(), live=live_of(first.apply))
    assert second.apply == ()
    assert types(second) == {"Ready": ("True", "Reconciled")}
    assert second.status is not None
    assert second.status["lastAppliedRevision"] == revision(AppSpec.from_object(obj), "a1")
    assert second.status["health"]["counts"]["Current"] == 2
    third = decide_application(
        ApplicationObservation(with_status(obj, second), ready_tenant(), live=live_of(first.apply)),
        LATER,
    )
    assert third.writes == 0


def test_unhealthy_deployment_keeps_reconciling() -> None:
    obj = manifest_app()
    first = visit(obj, tenant=ready_tenant())
    decision = visit(with_status(obj, first), tenant=ready_tenant(),
                     live=live_of(first.apply, healthy=False))  # fmt: skip
    assert types(decision)["Reconciling"] == ("True", "Progressing")
    assert "Deployment a1/api" in decision.conditions[0].message


def test_custom_resource_without_status_is_unknown() -> None:
    widget = {"apiVersion": "acme.example/v1", "kind": "Widget", "metadata": {"name": "w"}}
    obj = app("ops", namespace="sys", manifests={"objects": [widget]})
    first = visit(obj)
    assert {ref_of(o).kind for o in first.apply} == {"Namespace", "Widget"}
    second = visit(with_status(obj, first), live=live_of(first.apply),
                   namespace_labels={api.LABEL_APPLICATION: "ops"})  # fmt: skip
    assert types(second) == {"Ready": ("Unknown", "CustomResourceHealthUnknown")}
    assert "Widget sys/w" in second.conditions[0].message
    assert second.status is not None
    assert second.status["health"]["state"] == "Unknown"


def test_removed_object_is_pruned() -> None:
    obj = manifest_app()
    first = visit(obj, tenant=ready_tenant())
    smaller = manifest_app(manifests={"objects": [DEPLOY]})
    smaller["status"] = first.status
    decision = visit(smaller, tenant=ready_tenant(), live=live_of(first.apply))
    assert decision.prune == (ObjectRef("v1", "ConfigMap", "a1", "cfg"),)


def test_problems_map_to_conditions() -> None:
    cases = [
        (visit(manifest_app()), "TenantNotFound", "Stalled"),
        (visit(manifest_app(), tenant=tenant()), "DependencyNotReady", "Reconciling"),
        (visit(manifest_app(namespace="zz"), tenant=ready_tenant()), "NamespaceNotInTenant",
         "Stalled"),
        (visit(app(namespace="kube-system", manifests={"objects": [DEPLOY]}),
               namespace_labels={}), "NamespaceConflict", "Stalled"),
    ]  # fmt: skip
    for decision, reason, extra in cases:
        assert types(decision) == {"Ready": ("False", reason), extra: ("True", reason)}
        assert decision.apply == ()


def test_suspended_app_does_nothing() -> None:
    decision = visit(manifest_app(suspend=True), tenant=ready_tenant())
    assert decision.apply == ()
    assert decision.helm is None
    assert types(decision) == {"Ready": ("Unknown", "Suspended")}


def test_helm_first_visit_installs() -> None:
    obj = helm_app()
    decision = visit(obj, tenant=ready_tenant())
    action = decision.helm
    assert action is not None
    assert (action.release, action.namespace, action.location) == ("web", "a1", "bundle")
    assert action.values == {"replicas": 2}
    assert action.revision == revision(AppSpec.from_object(obj), "a1")
    assert types(decision)["Reconciling"] == ("True", "Progressing")


def helm_made(objs: tuple[dict[str, Any], ...], release: str = "web") -> tuple[Any, ...]:
    """The objects as Helm creates them: its ownership annotations and label added."""
    out = copy.deepcopy(objs)
    for obj in out:
        meta = obj["metadata"]
        meta["annotations"] = {
            "meta.helm.sh/release-name": release,
            "meta.helm.sh/release-namespace": meta.get("namespace", "a1"),
        }
        meta["labels"] = {**(meta.get("labels") or {}), "app.kubernetes.io/managed-by": "Helm"}
    return out


def helm_visit(obj: dict[str, Any], release: HelmRelease, healthy: bool = True) -> Decision:
    objects = (copy.deepcopy(DEPLOY) | {"metadata": {"name": "api", "namespace": "a1"}},)
    return visit(obj, tenant=ready_tenant(), release=release, release_objects=objects,
                 live=live_of(helm_made(objects), healthy))  # fmt: skip


def test_helm_in_sync_reports_health_and_revision() -> None:
    obj = helm_app()
    rev = revision(AppSpec.from_object(obj), "a1")
    decision = helm_visit(obj, HelmRelease("deployed", 3, rev))
    assert decision.helm is None
    assert types(decision) == {"Ready": ("True", "Reconciled")}
    status = decision.status
    assert status is not None
    assert status["lastAppliedRevision"] == rev
    assert status["helmRelease"] == {"name": "web", "namespace": "a1", "revision": 3,
                                     "status": "deployed"}  # fmt: skip
    assert helm_visit(with_status(obj, decision), HelmRelease("deployed", 3, rev)).writes == 0


def test_helm_spec_change_upgrades() -> None:
    decision = helm_visit(helm_app(), HelmRelease("deployed", 3, "old"))
    assert decision.helm is not None


def test_helm_pending_waits() -> None:
    obj = helm_app()
    rev = revision(AppSpec.from_object(obj), "a1")
    pending = helm_visit(obj, HelmRelease("pending-upgrade", 4, "old"))
    assert pending.helm is None
    assert types(pending)["Reconciling"] == ("True", "Progressing")
    assert helm_visit(obj, HelmRelease("pending-install", 1, rev)).helm is None


def test_helm_failed_attempt_stalls_until_the_spec_changes() -> None:
    obj = helm_app()
    rev = revision(AppSpec.from_object(obj), "a1")
    first = visit(obj, tenant=ready_tenant())
    assert first.status is not None
    assert first.status["lastAttemptedRevision"] == rev
    # The runtime's helm call failed: it records the attempt and the error.
    failed = failure_status(obj, api.Reason.HELM_RELEASE_FAILED, "boom", NOW,
                            fields={"lastAttemptedRevision": rev})  # fmt: skip
    tried = with_status(obj, failed)
    for release in (HelmRelease("failed", 4, ""), HelmRelease("deployed", 3, "old"), None):
        decision = helm_visit(tried, release) if release else visit(tried, tenant=ready_tenant())
        assert decision.helm is None
        assert types(decision)["Stalled"] == ("True", "HelmReleaseFailed")
    changed = helm_app(helm={"chart": "charts/webapp", "values": {"replicas": 3}})
    changed["status"] = tried["status"]
    assert helm_visit(changed, HelmRelease("failed", 4, "")).helm is not None


def test_revision_description_round_trip() -> None:
    assert revision_of(describe_revision("abc")) == "abc"
    assert revision_of("Upgrade complete") == ""


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T11:00:00Z"
    return obj


def test_deletion_prunes_manifests_then_releases_finalizer() -> None:
    obj = manifest_app()
    first = visit(obj, tenant=ready_tenant())
    gone = deleting(with_status(obj, first))
    decision = visit(gone, live=live_of(first.apply))
    assert len(decision.prune) == 2
    assert not decision.release_finalizer
    assert visit(gone).release_finalizer


def test_deletion_uninstalls_helm_release() -> None:
    obj = deleting(helm_app())
    decision = visit(obj, release=HelmRelease("deployed", 1, "x"))
    assert decision.uninstall == release_name(AppSpec.from_object(obj))
    assert visit(obj).release_finalizer


def test_reserved_namespace_of_a_data_plane_app_stalls() -> None:
    obj = app(namespace="cert-manager", manifests={"objects": [DEPLOY]})
    decision = visit(obj, reserved=("kube-*", "cert-*"))
    assert types(decision) == {"Ready": ("False", "ReservedNamespace"),
                               "Stalled": ("True", "ReservedNamespace")}  # fmt: skip
    assert decision.apply == ()
    assert "cert-manager" in decision.conditions[0].message


def test_data_plane_app_namespace_enforces_pod_security() -> None:
    decision = visit(app(namespace="acme-system", manifests={"objects": [DEPLOY]}))
    (namespace,) = [o for o in decision.apply if o["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert {labels[k] for k in api.PSA_LABELS} == {"baseline"}
    assert labels[api.LABEL_APPLICATION] == "web"
