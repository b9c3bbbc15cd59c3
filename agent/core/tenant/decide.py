"""Pure decisions for Tenants: a TenantObservation and a clock in, a Decision.

The reconciler gathers a TenantObservation (all I/O happens there) and acts
on the Decision. Objects already in sync are never in `Decision.apply`, and `Decision.status` is
None when the live status already says the same, so a converged cluster costs zero writes.
The DataPlane is decided in `agent.core.dataplane`, Bundles in `agent.core.bundle`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent import api
from agent.core.conditions import Outcome, Problem
from agent.core.decision import Decision, finish, suspended_outcome
from agent.core.objects import Obj, ObjectRef, out_of_sync, ref_of
from agent.core.tenant import render as tenancy
from agent.core.tenant.render import NamespaceLabels, Usage, check
from agent.core.tenant.spec import TenantDefaults, TenantSpec

REFUSED = (api.Reason.NAMESPACE_CONFLICT, api.Reason.RESERVED_NAMESPACE)
"""Reasons for which a namespace gets nothing at all: it is someone else's, or reserved."""


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
    reserved: tuple[str, ...] = ()
    """Namespace names the agent's settings reserve, beyond the DataPlane's list."""


def decide_tenant(obs: TenantObservation, now: datetime) -> Decision:
    """Apply what is out of sync, prune what is no longer desired, and report."""
    tenant = obs.tenant
    if (tenant.get("metadata") or {}).get("deletionTimestamp"):
        return decide_tenant_deletion(obs, now)
    defaults = TenantDefaults.from_dataplane(obs.dataplane, obs.reserved)
    spec = TenantSpec.from_dict(tenant.get("spec") or {}, defaults)
    if spec.suspend:
        return finish(tenant, suspended_outcome(tenant), _tenant_fields(tenant), now)
    name = tenant["metadata"]["name"]
    problems = check(name, spec, obs.namespace_labels, obs.usage)
    desired = [obj for obj in tenancy.render(tenant, spec) if not _blocked(obj, problems)]
    skip = {p.namespace for p in problems if p.reason in REFUSED}
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
        if problem.reason in REFUSED:
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
