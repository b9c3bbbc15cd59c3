"""Tenant: gather what exists (namespaces, labelled children, quota usage) → `decide_tenant` → act.

Reads only through `ctx.kube`: the Tenant, the DataPlane (defaults), each requested namespace
(to spot ones owned by someone else), our labelled children per namespace, and quota usage.
Deletion: the Tenant keeps our finalizer until no Application references it; then the
finalizer goes and garbage collection removes the namespaces it owns.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from agent import api
from agent.core.decision import Decision
from agent.core.objects import Obj, ObjectRef, ref_of
from agent.core.tenant import render as tenancy
from agent.core.tenant.decide import TenantObservation, decide_tenant
from agent.core.tenant.render import QUOTA_NAME, pod_requests
from agent.core.tenant.spec import TenantDefaults, TenantSpec
from agent.reconcilers import license as licensing
from agent.reconcilers.act import act, ensure_finalizer, strip
from agent.reconcilers.context import Context, KubeObject

NAMESPACED_CHILD_KINDS = [(av, k) for av, k in tenancy.TENANT_CHILD_KINDS if k != "Namespace"]


async def reconcile(ctx: Context, name: str) -> float | None:
    """Visit one Tenant: gather, decide, act, report."""
    tenant = await ctx.kube.get(api.API_VERSION, "Tenant", name)
    if tenant is None:
        ctx.metrics.set_ready("Tenant", name, None)
        return None
    tenant = strip(tenant)
    if tenant["metadata"].get("deletionTimestamp"):
        if api.FINALIZER not in (tenant["metadata"].get("finalizers") or ()):
            return None
    else:
        tenant = await ensure_finalizer(ctx, tenant)
        if (held := await licensing.gate(ctx, tenant)) is not None:
            return await licensing.hold_back(ctx, tenant, held)
    obs = await observe(ctx, tenant)
    return await act(ctx, tenant, _keep_blocked(obs, decide_tenant(obs, ctx.now())))


def _keep_blocked(obs: TenantObservation, decision: Decision) -> Decision:
    """Prune only what the spec no longer asks for at all: an object held back by a problem
    (a quota below usage) stays as it is until the problem is solved."""
    if not decision.prune or obs.tenant["metadata"].get("deletionTimestamp"):
        return decision
    spec = TenantSpec.from_dict(
        obs.tenant.get("spec") or {}, TenantDefaults.from_dataplane(obs.dataplane)
    )
    wanted = {ref_of(o) for o in tenancy.render(obs.tenant, spec)}
    return replace(decision, prune=tuple(r for r in decision.prune if r not in wanted))


async def observe(ctx: Context, tenant: KubeObject) -> TenantObservation:
    """What the cluster says about the Tenant: its DataPlane, namespaces, children, usage."""
    name = tenant["metadata"]["name"]
    wanted = list((tenant.get("spec") or {}).get("namespaces") or ())
    selector = f"{api.LABEL_TENANT}={name}"
    dataplanes, ours, existing = await asyncio.gather(
        ctx.kube.list_objects(api.API_VERSION, "DataPlane"),
        ctx.kube.list_objects("v1", "Namespace", labels=selector),
        asyncio.gather(*(ctx.kube.get("v1", "Namespace", ns) for ns in wanted)),
    )
    labels = {
        ns: (obj["metadata"].get("labels") or {})
        for ns, obj in zip(wanted, existing, strict=True)
        if obj
    }
    mine = {o["metadata"]["name"] for o in ours} | {
        ns for ns, lab in labels.items() if lab.get(api.LABEL_TENANT) == name
    }
    children: dict[ObjectRef, Obj] = {ref_of(strip(o)): o for o in ours}
    usage: dict[str, dict[str, str]] = {}
    for ns, found in zip(
        sorted(mine),
        await asyncio.gather(*(_namespace_children(ctx, ns, selector) for ns in sorted(mine))),
        strict=True,
    ):
        children.update({ref_of(o): o for o in found})
        if (used := _used(found)) is not None:
            usage[ns] = used
    dataplane = _first(dataplanes)
    if _quota_wanted(tenant, dataplane):
        for ns in [ns for ns in labels if ns not in usage]:
            usage[ns] = pod_requests(await ctx.kube.list_objects("v1", "Pod", namespace=ns))
    return TenantObservation(
        tenant=tenant,
        dataplane=dataplane,
        namespace_labels=labels,
        children=children,
        usage=usage,
        applications=await _applications(ctx, tenant),
        reserved=ctx.settings.reserved(),
    )


async def _namespace_children(ctx: Context, namespace: str, selector: str) -> list[Obj]:
    lists = await asyncio.gather(
        *(
            ctx.kube.list_objects(av, kind, namespace=namespace, labels=selector)
            for av, kind in NAMESPACED_CHILD_KINDS
        )
    )
    return [strip(o) for found in lists for o in found]


def _used(children: list[Obj]) -> dict[str, str] | None:
    """Usage as our quota reports it (None: no quota of ours there yet)."""
    for obj in children:
        if obj["kind"] == "ResourceQuota" and obj["metadata"]["name"] == QUOTA_NAME:
            return dict((obj.get("status") or {}).get("used") or {})
    return None


def _quota_wanted(tenant: KubeObject, dataplane: KubeObject | None) -> bool:
    spec = TenantSpec.from_dict(tenant.get("spec") or {}, TenantDefaults.from_dataplane(dataplane))
    return bool(spec.quota)


def _first(objs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return min(objs, key=lambda o: o["metadata"]["name"]) if objs else None


async def _applications(ctx: Context, tenant: KubeObject) -> tuple[str, ...]:
    """Applications referencing the tenant; listed fresh only while it is being deleted."""
    if not tenant["metadata"].get("deletionTimestamp"):
        return ()
    name = tenant["metadata"]["name"]
    apps = await ctx.kube.list_objects(api.API_VERSION, "Application")
    return tuple(
        sorted(
            a["metadata"]["name"]
            for a in apps
            if ((a.get("spec") or {}).get("tenantRef") or {}).get("name") == name
        )
    )
