"""Tenant and DataPlane decisions: applies, prunes, problems, suspend, deletion, zero writes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from agent import api
from agent.core.conditions import Outcome, conclude, from_status
from agent.core.dataplane import DataPlaneObservation, decide_dataplane
from agent.core.decision import Decision, failure_status, status_differs
from agent.core.objects import ObjectRef, ref_of
from agent.core.tenant.decide import TenantObservation, decide_tenant
from agent.core.tenant.render import render
from agent.core.tenant.spec import TenantDefaults, TenantSpec
from tests.unit.agent.tenantkit import DATAPLANE, as_live, tenant, with_status

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def desired(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return render(obj, TenantSpec.from_dict(obj["spec"], TenantDefaults.from_dataplane(DATAPLANE)))


def live_children(obj: dict[str, Any]) -> dict[ObjectRef, dict[str, Any]]:
    return {ref_of(o): o for o in as_live(desired(obj))}


def types(decision: Decision) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in decision.conditions}


def converge(obj: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """The Tenant as it looks after the runtime wrote the decision's status."""
    out = copy.deepcopy(obj)
    out["status"] = decision.status
    return out


def test_first_visit_applies_everything_and_reports_ready() -> None:
    obj = tenant()
    decision = decide_tenant(TenantObservation(obj, DATAPLANE), NOW)
    assert len(decision.apply) == len(desired(obj)) == 16
    assert decision.apply[0]["kind"] == "Namespace"
    assert decision.prune == ()
    assert types(decision) == {"Ready": ("True", "Reconciled")}
    assert decision.status is not None
    assert decision.status["namespaces"] == ["a1", "a2"]
    assert decision.status["observedGeneration"] == 3
    assert decision.events[0].reason == "Reconciled"


def test_restart_over_converged_cluster_makes_zero_writes() -> None:
    obj = tenant()
    first = decide_tenant(TenantObservation(obj, DATAPLANE), NOW)
    labels = {ns: {api.LABEL_TENANT: "acme"} for ns in ("a1", "a2")}
    obs = TenantObservation(converge(obj, first), DATAPLANE, labels, live_children(obj))
    again = decide_tenant(obs, LATER)
    assert again.writes == 0
    assert again.apply == ()
    assert again.prune == ()
    assert again.status is None
    assert again.events == ()


def test_drift_reapplies_only_the_changed_child() -> None:
    obj = tenant()
    first = decide_tenant(TenantObservation(obj, DATAPLANE), NOW)
    live = live_children(obj)
    quota = next(r for r in live if r.kind == "ResourceQuota" and r.namespace == "a1")
    live[quota]["spec"]["hard"]["pods"] = "999"
    decision = decide_tenant(TenantObservation(converge(obj, first), DATAPLANE, {}, live), LATER)
    assert [ref_of(o) for o in decision.apply] == [quota]
    assert decision.status is None


def test_removed_namespace_is_pruned_with_its_children_implied() -> None:
    obj = tenant()
    live = live_children(obj)
    smaller = tenant(namespaces=["a1"])
    decision = decide_tenant(TenantObservation(smaller, DATAPLANE, {}, live), NOW)
    assert decision.prune == (ObjectRef("v1", "Namespace", "", "a2"),)


def test_conflict_stalls_and_skips_that_namespace() -> None:
    obj = tenant()
    obs = TenantObservation(obj, DATAPLANE, {"a2": {"owner": "someone"}})
    decision = decide_tenant(obs, NOW)
    assert types(decision) == {"Ready": ("False", "NamespaceConflict"),
                               "Stalled": ("True", "NamespaceConflict")}  # fmt: skip
    assert {ref_of(o).namespace or ref_of(o).name for o in decision.apply} == {"a1"}
    assert decision.status is not None
    assert decision.status["namespaces"] == ["a1"]
    assert decision.events[0].type == "Warning"


def test_quota_below_usage_keeps_old_quota() -> None:
    obs = TenantObservation(tenant(), DATAPLANE, usage={"a1": {"pods": "80"}})
    decision = decide_tenant(obs, NOW)
    quotas = [ref_of(o).namespace for o in decision.apply if o["kind"] == "ResourceQuota"]
    assert quotas == ["a2"]
    assert types(decision)["Stalled"] == ("True", "QuotaBelowUsage")


def test_fixing_the_problem_removes_stalled() -> None:
    obj = tenant()
    stalled = decide_tenant(TenantObservation(obj, DATAPLANE, {"a2": {}}), NOW)
    fixed = decide_tenant(TenantObservation(converge(obj, stalled), DATAPLANE), LATER)
    assert types(fixed) == {"Ready": ("True", "Reconciled")}
    assert fixed.events[0].type == "Normal"


def test_suspend_applies_nothing_and_keeps_ready_status() -> None:
    obj = tenant()
    ready = conclude((), Outcome("True", "Reconciled", "fine"), 3, NOW)
    obs = TenantObservation(with_status(tenant(suspend=True), ready), DATAPLANE)
    decision = decide_tenant(obs, LATER)
    assert decision.apply == ()
    assert decision.prune == ()
    assert types(decision) == {"Ready": ("True", "Suspended")}
    (cond,) = decision.conditions
    assert cond.last_transition_time == NOW
    assert "fine" in cond.message
    assert desired(obj)


def test_suspend_without_history_is_unknown() -> None:
    decision = decide_tenant(TenantObservation(tenant(suspend=True)), NOW)
    assert types(decision) == {"Ready": ("Unknown", "Suspended")}


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T11:00:00Z"
    return obj


def test_deletion_waits_for_applications() -> None:
    obs = TenantObservation(deleting(tenant()), applications=("webapp",))
    decision = decide_tenant(obs, NOW)
    assert not decision.release_finalizer
    assert types(decision)["Reconciling"] == ("True", "WaitingForApplications")
    assert "'webapp'" in decision.conditions[0].message


def test_deletion_releases_finalizer_when_free() -> None:
    decision = decide_tenant(TenantObservation(deleting(tenant())), NOW)
    assert decision.release_finalizer
    assert decision.apply == ()


def test_failure_status_keeps_kind_fields() -> None:
    obj = converge(tenant(), decide_tenant(TenantObservation(tenant(), DATAPLANE), NOW))
    decision = failure_status(obj, api.Reason.APPLY_FAILED, "denied", LATER)
    assert decision.status is not None
    assert decision.status["namespaces"] == ["a1", "a2"]
    assert types(decision) == {"Ready": ("False", "ApplyFailed"),
                               "Reconciling": ("True", "ApplyFailed")}  # fmt: skip
    assert decision.requeue_after


def test_status_differs_ignores_transition_time() -> None:
    a = conclude((), Outcome("True", "R", "m"), 1, NOW)
    b = conclude((), Outcome("True", "R", "m"), 1, LATER)
    from agent.core.conditions import to_status

    assert not status_differs({"conditions": to_status(a)}, {"conditions": to_status(b), "x": 1})
    assert status_differs({"x": 2}, {"x": 1})
    assert from_status(to_status(a)) == a


def node(cpu: str, memory: str) -> dict[str, Any]:
    return {"status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}}


def ready(name: str, status: str) -> dict[str, Any]:
    conds = [{"type": "Ready", "status": status, "reason": "R", "message": ""}]
    return {"metadata": {"name": name}, "status": {"conditions": conds}}


def test_dataplane_status_observes_cluster() -> None:
    obs = DataPlaneObservation(
        DATAPLANE, "v1.36.3", [node("2", "4Gi"), node("1500m", "2Gi")],
        [ready("t1", "True"), ready("t2", "False")], [ready("a1", "True")],
    )  # fmt: skip
    decision = decide_dataplane(obs, NOW)
    status = decision.status
    assert status is not None
    assert status["nodes"] == {"count": 2, "allocatable": {"cpu": "3.5",
                               "memory": str(6 * 2**30), "pods": "220"}}  # fmt: skip
    assert status["tenants"] == {"total": 2, "ready": 1}
    assert types(decision) == {"Ready": ("False", "DependencyNotReady")}
    assert "'t2'" in decision.conditions[0].message


def test_dataplane_all_ready() -> None:
    obs = DataPlaneObservation(DATAPLANE, "v1.36.3", [], [ready("t", "True")], [])
    assert types(decide_dataplane(obs, NOW)) == {"Ready": ("True", "Reconciled")}


def imported(name: str, version: str, sequence: int, applied_at: str | None) -> dict[str, Any]:
    annotations = {"outpost.dev/applied-at": applied_at} if applied_at else {}
    return {
        "metadata": {
            "name": name,
            "annotations": annotations,
            "creationTimestamp": "2026-11-01T00:00:00Z",
        },
        "spec": {"product": "p", "channel": "stable", "version": version, "sequence": sequence},
    }


def test_dataplane_reports_the_bundle_applied_last() -> None:
    bundles = [
        imported("p-1", "1.0.0", 1, "2026-11-01T10:00:00Z"),
        imported("p-2", "1.1.0", 2, "2026-11-02T10:00:00Z"),
        imported("p-3", "1.2.0", 3, None),  # imported, not applied (yet)
    ]
    obs = DataPlaneObservation(DATAPLANE, "v1.36.3", bundles=bundles)
    status = decide_dataplane(obs, NOW).status
    assert status is not None
    assert status["bundle"] == {"version": "1.1.0", "sequence": 2}
    none = decide_dataplane(DataPlaneObservation(DATAPLANE, "v1.36.3"), NOW).status
    assert none is not None
    assert "bundle" not in none


def test_requeue_and_event_rules() -> None:
    from agent.core.decision import requeue_for, transition_events

    assert requeue_for(Outcome("False", "Progressing", "m", reconciling=True)) == 10.0
    assert requeue_for(Outcome("Unknown", "CustomResourceHealthUnknown", "m")) == 60.0
    assert requeue_for(Outcome("True", "Reconciled", "m")) is None
    before = conclude((), Outcome("True", "Reconciled", "m"), 1, NOW)
    same = conclude(before, Outcome("True", "Reconciled", "other text"), 1, LATER)
    assert transition_events(before, same) == ()
    worse = conclude(before, Outcome("False", "HealthCheckFailed", "bad"), 1, LATER)
    (event,) = transition_events(before, worse)
    assert (event.type, event.reason) == ("Warning", "HealthCheckFailed")


def test_reserved_namespace_stalls_and_skips_that_namespace() -> None:
    obj = tenant()
    dataplane = {**DATAPLANE, "spec": {**DATAPLANE["spec"], "reservedNamespaces": ["a2", "x-*"]}}
    decision = decide_tenant(TenantObservation(obj, dataplane), NOW)
    assert types(decision) == {"Ready": ("False", "ReservedNamespace"),
                               "Stalled": ("True", "ReservedNamespace")}  # fmt: skip
    assert {ref_of(o).namespace or ref_of(o).name for o in decision.apply} == {"a1"}
    assert decision.status is not None
    assert decision.status["namespaces"] == ["a1"]


def test_default_reserved_namespaces_apply_without_a_list() -> None:
    obj = tenant(namespaces=["kube-extra", "a1"])
    decision = decide_tenant(TenantObservation(obj, None), NOW)
    assert types(decision)["Ready"] == ("False", "ReservedNamespace")
    assert "kube-extra" in decision.conditions[0].message
