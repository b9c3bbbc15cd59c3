"""License: verify each License → pick the one in force → report; and the gates other kinds ask.

I/O: the License objects, the kube-system namespace (its uid identifies the cluster) and the
anti-rollback memory in the trust-floor ConfigMap (the issue time and digest of the newest
licence ever in force; only the License visit raises it). Every visit verifies each licence
from the trust root in the agent's settings; the decisions are `agent.core.license`'s.
Tenants and Applications call `gate` before anything else: it returns the Problem holding them
back (a limit exceeded, a feature missing, a required licence absent), or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent import api
from agent.core import license as rules
from agent.core.conditions import Outcome, Problem
from agent.core.decision import finish
from agent.reconcilers.act import report, strip
from agent.reconcilers.content import read_trust_root
from agent.reconcilers.context import Context, KubeObject
from bundle.errors import VerificationError
from bundle.keyring import decode_chain
from bundle.license import VerifiedLicense, newest, verify_license
from facts.api import TRUST_FLOOR_CONFIGMAP
from facts.rfc3339 import format_time

GATED = ("Tenant", "Application", "Bundle")
_OUT: dict[str, Any] = {"inForce": False}


@dataclass(frozen=True)
class Found:
    """Every License object's verification: the verified licence, or why it is refused."""

    objects: dict[str, KubeObject]
    verified: dict[str, VerifiedLicense]
    refused: dict[str, str]
    memory: rules.Memory | None
    floor: KubeObject | None


async def gather(ctx: Context) -> tuple[rules.LicenseState, Found]:
    """The licence state of the cluster and the per-object results behind it."""
    objects = {
        o["metadata"]["name"]: strip(o)
        for o in await ctx.kube.list_objects(api.API_VERSION, "License")
    }
    floor = None
    if objects:  # no License at all (the common case without licensing): two reads fewer
        floor = await ctx.kube.get("v1", "ConfigMap", TRUST_FLOOR_CONFIGMAP, ctx.settings.namespace)
    memory = rules.Memory.from_data((floor or {}).get("data"))
    verified, refused = _verify_all(ctx, objects, memory)
    uid = ""
    if objects or ctx.settings.requires_license:
        system = await ctx.kube.get("v1", "Namespace", "kube-system")
        uid = str(((system or {}).get("metadata") or {}).get("uid") or "")
    in_force = newest(list(verified.values()))
    state = rules.LicenseState(in_force, uid, ctx.settings.requires_license)
    return state, Found(objects, verified, refused, memory, floor)


def _verify_all(
    ctx: Context, objects: dict[str, KubeObject], memory: rules.Memory | None
) -> tuple[dict[str, VerifiedLicense], dict[str, str]]:
    verified: dict[str, VerifiedLicense] = {}
    refused: dict[str, str] = {}
    if not objects:
        return verified, refused
    now = ctx.now()
    try:
        chain = decode_chain(read_trust_root(ctx.settings), "trust root")
    except VerificationError as exc:
        return verified, {name: str(exc) for name in objects}
    for name, obj in objects.items():
        try:
            found = _verify_one(obj, chain, now)
        except VerificationError as exc:
            refused[name] = str(exc)
            continue
        why = rules.older_than_memory(found, memory)
        if why:
            refused[name] = why
        else:
            verified[name] = found
    return verified, refused


def _verify_one(obj: KubeObject, chain: list[bytes], now: datetime) -> VerifiedLicense:
    spec = obj.get("spec") or {}
    found = verify_license(str(spec.get("license") or "").encode(), chain, now)
    lic = found.license
    shown = {"customer": lic.customer, "expires": format_time(lic.expires)}
    for field, signed in shown.items():
        if spec.get(field) not in (None, "", signed):
            raise VerificationError(
                f"licence spec check failed: `spec.{field}` says '{spec.get(field)}', the signed"
                f" licence says '{signed}'"
            )
    return found


async def gate(ctx: Context, obj: KubeObject) -> Problem | None:
    """What holds a Tenant, Application or Bundle back because of the licence (None: nothing)."""
    if obj["metadata"].get("deletionTimestamp"):
        return None  # a deletion is never held back
    state, _ = await gather(ctx)
    kind, name = obj["kind"], obj["metadata"]["name"]
    if kind == "Bundle":
        return rules.bundle_problem(state, ctx.now())
    if (problem := rules.required_problem(state)) is not None:
        return problem
    if kind == "Application":
        requires = [str(r) for r in (obj.get("spec") or {}).get("requires") or ()]
        if (problem := rules.missing_features(requires, state)) is not None:
            return problem
    if state.usable is None:
        return None
    peers = await _peers(ctx, kind)
    return rules.exceeded(kind, name, peers, state)


async def _peers(ctx: Context, kind: str) -> list[rules.Created]:
    """The objects of `kind` competing for its limit (those being deleted no longer compete)."""
    found = await ctx.kube.list_objects(api.API_VERSION, kind)
    return [
        rules.Created(o["metadata"]["name"], str(o["metadata"].get("creationTimestamp") or ""))
        for o in found
        if not o["metadata"].get("deletionTimestamp")
    ]


async def reconcile(ctx: Context, name: str) -> float | None:
    """Verify, decide which licence is in force, remember it, report; wake the gated kinds."""
    state, found = await gather(ctx)
    obj = found.objects.get(name)
    if obj is None:
        ctx.metrics.set_ready("License", name, None)
        return None
    new_memory = rules.remembered(state.in_force, found.memory)
    if new_memory is not None:
        await _remember(ctx, found.floor, new_memory)
    usage = {
        "tenants": len(await _peers(ctx, "Tenant")),
        "applications": len(await _peers(ctx, "Application")),
    }
    outcome, fields = _verdict(name, state, found, ctx.now())
    decision = finish(obj, outcome, {**fields, "usage": usage}, ctx.now())
    await report(ctx, obj, decision)
    if decision.status is not None:
        await _wake_gated(ctx, name)
    return 3600.0  # the expiry and the 30-day warning move with the clock alone


def _verdict(
    name: str, state: rules.LicenseState, found: Found, now: datetime
) -> tuple[Outcome, dict[str, Any]]:
    mine = found.verified.get(name)
    if mine is None:
        why = found.refused.get(name, "the licence did not verify")
        if "rollback" not in why:
            return Outcome("False", api.Reason.VERIFICATION_FAILED, why, stalled=True), _OUT
        if state.in_force is not None:  # simply older than the licence now in force
            message = f"A licence issued later is in force; this one is not enforced ({why})."
            return Outcome("False", api.Reason.LICENSE_SUPERSEDED, message), _OUT
        return Outcome("False", api.Reason.ROLLBACK_REFUSED, why, stalled=True), _OUT
    lic = mine.license
    fields: dict[str, Any] = {
        "inForce": state.in_force is not None and state.in_force.digest == mine.digest,
        "digest": f"sha256:{mine.digest}",
        "issued": format_time(lic.issued),
        "graceEnds": format_time(lic.grace_end),
        "clusterUID": lic.cluster_uid,
        "entitlements": rules.entitlements_text(lic.entitlements),
    }
    if not fields["inForce"]:
        message = "A licence issued later is in force; this one is not enforced."
        return Outcome("False", api.Reason.LICENSE_SUPERSEDED, message), fields
    return rules.license_outcome(state, now), fields


async def _remember(ctx: Context, floor: KubeObject | None, memory: rules.Memory) -> None:
    """Raise the licence memory; the resourceVersion makes a racing writer's change win."""
    if floor is None:
        meta = {
            "name": TRUST_FLOOR_CONFIGMAP,
            "namespace": ctx.settings.namespace,
            "labels": {"app.kubernetes.io/part-of": "outpost"},
        }
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": memory.to_data()}
        await ctx.kube.create(body)
        return
    version = floor["metadata"]["resourceVersion"]
    # A 409 (someone wrote meanwhile) fails the visit; the queue retries with a fresh read.
    await ctx.kube.patch(
        floor, {"metadata": {"resourceVersion": version}, "data": memory.to_data()}
    )


async def _wake_gated(ctx: Context, me: str) -> None:
    """A change of licence state may release or hold back any gated object, and supersede the
    other Licenses: visit them soon (a visit that changes nothing wakes nobody, so it ends)."""
    for kind in (*GATED, "License"):
        for obj in await ctx.kube.list_objects(api.API_VERSION, kind):
            if (kind, obj["metadata"]["name"]) != ("License", me):
                ctx.triggers.enqueue(f"{kind}/{obj['metadata']['name']}", 0.0)


async def hold_back(ctx: Context, obj: KubeObject, problem: Problem) -> float | None:
    """Ready=False with the licence's reason; nothing applied, nothing pruned, nothing deleted."""
    live = {
        k: v
        for k, v in (obj.get("status") or {}).items()
        if k not in ("conditions", "observedGeneration")
    }
    await report(ctx, obj, finish(obj, problem.outcome(), live, ctx.now()))
    return None
