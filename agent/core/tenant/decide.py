"""Pure decisions for Tenants, the DataPlane and Bundles: observations and a clock in, a Decision.

The runtime gathers a Tenant-/DataPlane-/BundleObservation (all I/O happens there) and acts
on the Decision. Objects already in sync are never in `Decision.apply`, and `Decision.status` is
None when the live status already says the same, so a converged cluster costs zero writes.
Applications are decided in `agent.core.application.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent import api
from agent.core.conditions import Outcome, Problem, Verdict
from agent.core.decision import Decision, finish, suspended_outcome
from agent.core.health.state import is_true
from agent.core.objects import Obj, ObjectRef, add_quantities, out_of_sync, ref_of
from agent.core.tenant import render as tenancy
from agent.core.tenant.render import NamespaceLabels, Usage, check
from agent.core.tenant.spec import TenantDefaults, TenantSpec
from bundle.lineage import Imported, in_force
from facts.rfc3339 import format_time


@dataclass(frozen=True)
class TenantObservation:
    """What the runtime saw for one Tenant.

    `namespace_labels`: labels of each namespace in `spec.namespaces` that exists.
    `children`: live objects labelled `outpost.dev/tenant=<name>` of `tenancy.TENANT_CHILD_KINDS`.
    `usage`: per namespace, ResourceQuota `status.used` (or `tenancy.pod_requests`).
    `applications`: names of Applications whose `spec.tenantRef` names this tenant.
    """

    tenant: Obj
    dataplane: Obj | None = None
    namespace_labels: NamespaceLabels = field(default_factory=dict)
    children: Mapping[ObjectRef, Obj] = field(default_factory=dict)
    usage: Usage = field(default_factory=dict)
    applications: tuple[str, ...] = ()


def decide_tenant(obs: TenantObservation, now: datetime) -> Decision:
    """Apply what is out of sync, prune what is no longer desired, and report."""
    tenant = obs.tenant
    if (tenant.get("metadata") or {}).get("deletionTimestamp"):
        return decide_tenant_deletion(obs, now)
    spec = TenantSpec.from_dict(
        tenant.get("spec") or {}, TenantDefaults.from_dataplane(obs.dataplane)
    )
    if spec.suspend:
        return finish(tenant, suspended_outcome(tenant), _tenant_fields(tenant), now)
    name = tenant["metadata"]["name"]
    problems = check(name, spec, obs.namespace_labels, obs.usage)
    desired = [obj for obj in tenancy.render(tenant, spec) if not _blocked(obj, problems)]
    skip = {p.namespace for p in problems if p.reason == api.Reason.NAMESPACE_CONFLICT}
    owned = [ns for ns in spec.namespaces if ns not in skip]
    return finish(
        tenant,
        _tenant_outcome(name, owned, problems),
        {"namespaces": owned},
        now,
        apply=tuple(out_of_sync(desired, obs.children)),
        prune=_tenant_prune(obs.children, desired, skip),
    )


def decide_tenant_deletion(obs: TenantObservation, now: datetime) -> Decision:
    """Wait until no Application references the tenant; then let garbage collection work."""
    tenant = obs.tenant
    if obs.applications:
        names = ", ".join(f"'{a}'" for a in obs.applications[:5])
        message = (
            f"Tenant is being deleted and waits for Applications {names} that reference it; "
            "delete them or move them to another tenant."
        )
        outcome = Outcome("False", api.Reason.WAITING_FOR_APPLICATIONS, message, reconciling=True)
        return finish(tenant, outcome, _tenant_fields(tenant), now)
    message = "Tenant is being deleted; its namespaces and children go with it."
    outcome = Outcome("False", api.Reason.DELETING, message, reconciling=True)
    decision = finish(tenant, outcome, _tenant_fields(tenant), now)
    return Decision(status=decision.status, events=decision.events, release_finalizer=True)


def _tenant_fields(tenant: Mapping[str, Any]) -> dict[str, Any]:
    return {"namespaces": list((tenant.get("status") or {}).get("namespaces") or [])}


def _blocked(obj: Mapping[str, Any], problems: Sequence[Problem]) -> bool:
    """Conflicting namespaces get nothing; a quota below usage is left as it is."""
    ref = ref_of(obj)
    namespace = ref.name if ref.kind == "Namespace" else ref.namespace
    for problem in problems:
        if problem.namespace != namespace:
            continue
        if problem.reason == api.Reason.NAMESPACE_CONFLICT:
            return True
        if problem.reason == api.Reason.QUOTA_BELOW_USAGE and ref.kind == "ResourceQuota":
            return True
    return False


def _tenant_prune(
    live: Mapping[ObjectRef, Obj], desired: Sequence[Obj], skip: set[str]
) -> tuple[ObjectRef, ...]:
    """Live children no longer desired; children of a pruned namespace go with it."""
    wanted = {ref_of(obj) for obj in desired}
    gone = [ref for ref in live if ref not in wanted and ref.namespace not in skip]
    dropped = {ref.name for ref in gone if ref.kind == "Namespace"}
    return tuple(sorted(ref for ref in gone if ref.namespace not in dropped))


def _tenant_outcome(name: str, owned: Sequence[str], problems: Sequence[Problem]) -> Outcome:
    if problems:
        first = problems[0]
        more = f" ({len(problems) - 1} more problems.)" if len(problems) > 1 else ""
        return Outcome("False", first.reason, first.message + more, stalled=True)
    message = f"Tenant '{name}' has {len(owned)} namespaces with their policies, quota and owners."
    return Outcome("True", api.Reason.RECONCILED, message)


@dataclass(frozen=True)
class DataPlaneObservation:
    """What the runtime saw cluster-wide for the DataPlane's status."""

    dataplane: Obj
    kubernetes_version: str = ""
    nodes: Sequence[Mapping[str, Any]] = ()
    tenants: Sequence[Mapping[str, Any]] = ()
    applications: Sequence[Mapping[str, Any]] = ()
    bundles: Sequence[Mapping[str, Any]] = ()


def decide_dataplane(obs: DataPlaneObservation, now: datetime) -> Decision:
    """Observed facts in status; Ready when every Tenant and Application is Ready."""
    tenants, apps = _readiness(obs.tenants), _readiness(obs.applications)
    fields = {
        "kubernetesVersion": obs.kubernetes_version,
        "nodes": node_summary(obs.nodes),
        "tenants": tenants,
        "applications": apps,
    }
    installed = installed_bundle(obs.bundles)
    if installed:
        fields["bundle"] = installed
    waiting = [o["metadata"]["name"] for o in (*obs.tenants, *obs.applications) if not _ready(o)]
    if waiting:
        shown = ", ".join(f"'{n}'" for n in waiting[:5])
        message = f"{len(waiting)} Tenants or Applications are not Ready: {shown}."
        outcome = Outcome("False", api.Reason.DEPENDENCY_NOT_READY, message)
    else:
        message = f"{tenants['total']} tenants and {apps['total']} applications are Ready."
        outcome = Outcome("True", api.Reason.RECONCILED, message)
    return finish(obs.dataplane, outcome, fields, now)


def installed_bundle(bundles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Version and sequence of the Bundle applied last (any product); {} when none was."""
    latest = in_force(Imported.from_object(b) for b in bundles)
    found = next((b for b in bundles if latest and b["metadata"]["name"] == latest.name), None)
    if found is None:
        return {}
    spec = found.get("spec") or {}
    return {"version": str(spec.get("version", "")), "sequence": int(spec.get("sequence") or 0)}


def node_summary(nodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Node count and summed allocatable cpu, memory and pods."""
    allocatable = [(n.get("status") or {}).get("allocatable") or {} for n in nodes]
    totals = {key: add_quantities([str(a.get(key, 0)) for a in allocatable]) for key in _RESOURCES}
    return {"count": len(nodes), "allocatable": totals}


_RESOURCES = ("cpu", "memory", "pods")


def _ready(obj: Mapping[str, Any]) -> bool:
    return is_true(obj, api.ConditionType.READY)


def _readiness(objs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {"total": len(objs), "ready": sum(1 for o in objs if _ready(o))}


# Bundles: verification itself is the bundle package's job; the runtime passes its result.


@dataclass(frozen=True)
class Evidence:
    """What a successful verification established; kept in status as an audit record."""

    signer_key_ids: tuple[str, ...]
    manifest_digest: str
    verified_time: datetime
    policy: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "signerKeyIds": list(self.signer_key_ids),
            "manifestDigest": self.manifest_digest,
            "verifiedTime": format_time(self.verified_time),
            "policy": self.policy,
        }


@dataclass(frozen=True)
class BundleObservation:
    """The Bundle, its verification result, and the state of its resources.

    `verification`: Evidence, or a Problem with reason VerificationFailed or RollbackRefused.
    `applied`: objects the bundle's resources were applied as. `pending`: human-readable names
    of resources not applied or not Ready yet.
    """

    bundle: Obj
    verification: Evidence | Problem
    applied: tuple[ObjectRef, ...] = ()
    pending: tuple[str, ...] = ()


def decide_bundle(obs: BundleObservation, now: datetime) -> Decision:
    """Conditions Verified, Applied and Ready, and the evidence, for one visit."""
    fields: Obj = {"applied": [ref.to_dict() for ref in obs.applied]}
    if isinstance(obs.verification, Problem):
        return finish(obs.bundle, _refused(obs.verification), fields, now)
    fields["evidence"] = obs.verification.to_dict()
    return finish(obs.bundle, _verified(obs.pending), fields, now)


def _refused(problem: Problem) -> Outcome:
    verified = Verdict(api.ConditionType.VERIFIED, "False", problem.reason, problem.message)
    applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED,
                      "Nothing from this bundle is applied because it did not verify.")  # fmt: skip
    return Outcome("False", problem.reason, problem.message, stalled=True,
                   extra=(verified, applied))  # fmt: skip


def _verified(pending: Sequence[str]) -> Outcome:
    verified = Verdict(api.ConditionType.VERIFIED, "True", api.Reason.VERIFIED,
                       "Signature, keyring chain and content digests verified.")  # fmt: skip
    if not pending:
        message = "Every resource of the bundle is applied and Ready."
        applied = Verdict(api.ConditionType.APPLIED, "True", api.Reason.APPLIED, message)
        return Outcome("True", api.Reason.RECONCILED, message, extra=(verified, applied))
    shown = ", ".join(pending[:5]) + (", …" if len(pending) > 5 else "")
    message = f"{len(pending)} resources are not applied or not Ready yet: {shown}."
    applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.NOT_APPLIED, message)
    return Outcome("False", api.Reason.PROGRESSING, message, reconciling=True,
                   extra=(verified, applied))  # fmt: skip
