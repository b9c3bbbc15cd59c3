"""Health-gated upgrades, I/O: roll a Bundle back, and hold or retry one that was rolled back.

A rollback takes the failed Bundle out of force (its applied-at annotation removed, rolled-back-at
set), reports it RolledBack naming what was not Ready, prunes the plain objects only it had
added, and visits the Bundle it replaced, which (verified again, like at every visit) applies its
own content again. Namespaces, PersistentVolumeClaims, Tenants and Applications are never
deleted by a rollback (a Tenant's deletion would take its namespaces with it). No downgrade
permit is needed: the cluster already held that state, and the replaced Bundle never stopped
being a verified, admitted bundle of this channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent import api
from agent.core.bundle import reverify
from agent.core.decision import finish
from agent.core.objects import ObjectRef
from agent.core.upgrade import (
    PREVIOUS,
    RETRY,
    ROLLED_BACK_AT,
    health_timeout,
    notes_of,
    rolled_back,
)
from agent.kube.events import Notice, emit
from agent.reconcilers.act import prune_all, report
from agent.reconcilers.content import read_trust_root
from agent.reconcilers.context import Context, KubeObject
from bundle.errors import VerificationError
from bundle.lineage import APPLIED_AT, format_applied
from facts.api import CONTENT_PREFIX

KEPT_KINDS = frozenset({"Namespace", "PersistentVolumeClaim", "Tenant", "Application"})


def is_rolled_back(bundle: KubeObject) -> bool:
    """Whether the agent rolled this Bundle back (and nobody asked to retry it yet)."""
    return ROLLED_BACK_AT in notes_of(bundle)


async def hold_or_retry(ctx: Context, bundle: KubeObject) -> float | None:
    """A rolled-back Bundle applies nothing; with the retry annotation it is admitted afresh."""
    if RETRY not in notes_of(bundle):
        return None
    notes = {ROLLED_BACK_AT: None, RETRY: None}
    await ctx.kube.patch(bundle, {"metadata": {"annotations": notes}})
    await emit(ctx.kube, bundle, [Notice("Normal", "Retry", "Trying the bundle again.")], ctx.now())
    return 0.5


async def roll_back(ctx: Context, bundle: KubeObject, unhealthy: Sequence[str]) -> float | None:
    """Put the Bundle this one replaced back in force; report this one RolledBack."""
    previous_name = notes_of(bundle)[PREVIOUS]
    previous = await ctx.kube.get(api.API_VERSION, "Bundle", previous_name)
    now = ctx.now()
    if previous is None:
        return None  # nothing to go back to: the Bundle keeps reporting what is not Ready
    try:
        reverify(previous, read_trust_root(ctx.settings), now)
    except VerificationError:
        return None  # never put back what no longer verifies
    notes = {APPLIED_AT: None, ROLLED_BACK_AT: format_applied(now)}
    await ctx.kube.patch(bundle, {"metadata": {"annotations": notes}})
    outcome = rolled_back(unhealthy, previous_name, health_timeout(bundle))
    await report(ctx, bundle, finish(bundle, outcome, {"applied": []}, now))
    kept = {_ref(r) for r in (previous.get("status") or {}).get("applied") or ()}
    mine = [_ref(r) for r in (bundle.get("status") or {}).get("applied") or ()]
    await prune_all(ctx, [r for r in mine if r not in kept and _prunable(r)])
    ctx.triggers.enqueue(f"Bundle/{previous_name}", 0.0)
    return None


def _ref(raw: dict[str, str]) -> ObjectRef:
    return ObjectRef.from_dict(raw)


def _prunable(ref: ObjectRef) -> bool:
    content = ref.kind == "ConfigMap" and ref.name.startswith(CONTENT_PREFIX)
    return ref.kind not in KEPT_KINDS and not content
