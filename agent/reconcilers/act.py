"""Acting on a core Decision: apply, prune, report status, emit Events, release the finalizer.

I/O through the Context's client. Applies go Namespaces first (their children need them), then
everything else concurrently; prunes go namespaced objects first. Every write's resulting
resourceVersion is remembered so the watch event it causes does not trigger another visit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from agent import api
from agent.core.application.drift import HELM_MANAGER
from agent.core.decision import Decision, failure_status
from agent.core.objects import Obj, ObjectRef
from agent.errors import ConflictError, KubeError
from agent.kube.events import Notice, emit
from agent.reconcilers.bootstrap import bootstrap_namespaces
from agent.reconcilers.context import Context, KubeObject

log = logging.getLogger(__name__)
AFTER_APPLY = 1.0
PERMANENT_HTTP = frozenset({400, 403, 404, 422})
"""Refusals that retrying cannot fix until someone changes the spec or RBAC."""


async def apply_all(ctx: Context, objects: Sequence[Obj]) -> None:
    """Server-side apply, Namespaces (and other cluster-scoped kinds) first."""
    first = [o for o in objects if not (o.get("metadata") or {}).get("namespace")]
    rest = [o for o in objects if (o.get("metadata") or {}).get("namespace")]
    await bootstrap_namespaces(ctx, first)
    for batch in (first, rest):
        results = await asyncio.gather(*(ctx.kube.apply(obj) for obj in batch))
        for result in results:
            ctx.triggers.wrote(result)


async def apply_as_helm(ctx: Context, objects: Sequence[Obj]) -> None:
    """Put back a Helm release's drifted objects under Helm's field manager (see
    `agent.core.application.drift` for why an apply and not a Helm upgrade)."""
    results = await asyncio.gather(*(ctx.kube.apply(obj, manager=HELM_MANAGER) for obj in objects))
    for result in results:
        ctx.triggers.wrote(result)


async def prune_all(ctx: Context, refs: Sequence[ObjectRef]) -> None:
    """Delete objects no longer desired (already-gone ones are fine)."""
    for group in ([r for r in refs if r.namespace], [r for r in refs if not r.namespace]):
        await asyncio.gather(
            *(ctx.kube.delete(r.api_version, r.kind, r.name, r.namespace or None) for r in group)
        )


async def ensure_finalizer(ctx: Context, obj: KubeObject) -> KubeObject:
    """Our finalizer on first visit (never on an object already being deleted)."""
    meta = obj["metadata"]
    if meta.get("deletionTimestamp") or api.FINALIZER in (meta.get("finalizers") or ()):
        return obj
    updated = await ctx.kube.add_finalizer(obj, api.FINALIZER)
    ctx.triggers.wrote(updated)
    return updated


async def report(ctx: Context, obj: KubeObject, decision: Decision) -> KubeObject:
    """Write the status (only when it changed), emit the Events, record readiness; returns the
    object as it now is (its new resourceVersion matters to a finalizer removal next)."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    current = obj
    if decision.status is not None:
        # Merge semantics: a field the decision does not mention keeps its live value (a
        # server-side apply would drop it, e.g. lastAttemptedRevision on a later visit).
        live = {k: v for k, v in (obj.get("status") or {}).items() if k not in decision.status}
        body = {
            "apiVersion": obj["apiVersion"],
            "kind": kind,
            "metadata": {"name": name},
            "status": {**live, **decision.status},
        }
        try:
            current = await ctx.kube.apply_status(body)
            ctx.triggers.wrote(current)
        except KubeError as exc:
            if exc.status != 404:  # deleted meanwhile: nothing left to report on
                raise
    notices = [Notice(e.type, e.reason, e.message) for e in decision.events]
    await emit(ctx.kube, obj, notices, ctx.now())
    ready = next((c.status for c in decision.conditions if c.type == api.ConditionType.READY), None)
    if ready is not None:
        ctx.metrics.set_ready(kind, name, ready)
    return current


async def finish_deletion(ctx: Context, obj: KubeObject) -> None:
    """Remove the finalizer once the children are gone (a conflict is retried by the queue)."""
    try:
        await ctx.kube.remove_finalizer(obj, api.FINALIZER)
    except ConflictError:
        raise  # changed meanwhile: the queue retries with a fresh read
    except KubeError as exc:
        if exc.status != 404:
            raise
    ctx.metrics.set_ready(obj["kind"], obj["metadata"]["name"], None)


async def act(ctx: Context, obj: KubeObject, decision: Decision) -> float | None:
    """Apply, prune, then report; a refused write is reported and retried or stalled."""
    try:
        await apply_all(ctx, decision.apply)
        await prune_all(ctx, decision.prune)
    except KubeError as exc:
        return await report_failure(ctx, obj, exc)
    if decision.prune:
        await emit(ctx.kube, obj, [Notice("Normal", "Pruned", _pruned(decision.prune))], ctx.now())
    current = await report(ctx, obj, decision)
    if decision.release_finalizer:
        await finish_deletion(ctx, current)
        return None
    if decision.apply and decision.requeue_after is not None:
        # We just changed things: look at their health soon, not after the core's default wait.
        return min(decision.requeue_after, AFTER_APPLY)
    return decision.requeue_after


async def report_failure(
    ctx: Context, obj: KubeObject, exc: KubeError, reason: str = ""
) -> float | None:
    """Ready=False with the API server's answer: Stalled if retrying cannot help, else retried."""
    stalled = exc.status in PERMANENT_HTTP
    decision = failure_status(
        obj, reason or api.Reason.APPLY_FAILED, str(exc), ctx.now(), stalled=stalled
    )
    await report(ctx, obj, decision)
    if stalled:
        return None
    raise exc  # the queue retries with backoff


def _pruned(refs: Sequence[ObjectRef]) -> str:
    shown = ", ".join(str(r) for r in refs[:5])
    return f"Deleted {len(refs)} objects no longer desired: {shown}" + (
        " …" if len(refs) > 5 else ""
    )


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop managedFields from a live object before keeping it around (they dwarf the rest)."""
    obj.get("metadata", {}).pop("managedFields", None)
    return obj
