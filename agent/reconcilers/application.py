"""Application: gather (tenant, target namespace, live objects, Helm release) → decide → act.

Reads through `ctx.kube` (and Helm's release records); writes are server-side applies, prunes and,
for Helm apps, the helm CLI under the release's lock. A chart that fails to render, or an upgrade
that fails, leaves the previously deployed revision in place and reports Stalled with the reason.
"""

from __future__ import annotations

import asyncio

from agent import api
from agent.core.application.decide import (
    HELM_SAID,
    ApplicationObservation,
    HelmRelease,
    decide_application,
)
from agent.core.application.referrers import ReferrerLookup, container_images
from agent.core.application.spec import (
    AppSpec,
    inventory,
    inventory_from_status,
    release_name,
    render_manifests,
    render_namespace,
    resolve_namespace,
)
from agent.core.conditions import Problem
from agent.core.decision import Decision, failure_status
from agent.core.objects import Obj, ObjectRef
from agent.core.reserved import DEFAULT_RESERVED, reserved_patterns
from agent.errors import AgentError, ChartRenderError, HelmError, KubeError, ScopeRefused
from agent.kube.events import Notice, emit
from agent.reconcilers import license as licensing
from agent.reconcilers.act import (
    act,
    apply_all,
    apply_as_helm,
    ensure_finalizer,
    report,
    report_failure,
    strip,
)
from agent.reconcilers.context import Context, KubeObject
from agent.reconcilers.referrers import lookup_referrers
from agent.reconcilers.release import chart_digest, install, read_release, recover_if_stuck

AFTER_HELM = 2.0
"""Look again soon after a release changed: its objects are about to become healthy."""


async def reconcile(ctx: Context, name: str) -> float | None:
    """Visit one Application: gather, decide, act, report."""
    app = await ctx.kube.get(api.API_VERSION, "Application", name)
    if app is None:
        ctx.metrics.set_ready("Application", name, None)
        return None
    app = strip(app)
    if app["metadata"].get("deletionTimestamp"):
        if api.FINALIZER not in (app["metadata"].get("finalizers") or ()):
            return None
    else:
        app = await ensure_finalizer(ctx, app)
        if (held := await licensing.gate(ctx, app)) is not None:
            return await licensing.hold_back(ctx, app, held)
    spec = AppSpec.from_object(app)
    if spec.helm is None:
        obs = await observe(ctx, app, spec)
        return await act(ctx, app, decide_application(obs, ctx.now()))
    namespace = _release_namespace(app, spec, await _tenant(ctx, spec))
    release = release_name(spec)
    ctx.triggers.releases[(namespace, release)] = name
    async with ctx.helm.lock(namespace, release):
        obs = await observe(ctx, app, spec)
        if await recover_if_stuck(ctx, obs.release, release, namespace):
            # The rollback is ours, not an attempt at this spec: upgrade to it afresh.
            status = {
                k: v for k, v in (app.get("status") or {}).items() if k != "lastAttemptedRevision"
            }
            app = {**app, "status": status}
            obs = await observe(ctx, app, spec)
        return await act_helm(ctx, app, decide_application(obs, ctx.now()))


async def _tenant(ctx: Context, spec: AppSpec) -> KubeObject | None:
    if not spec.tenant:
        return None
    found = await ctx.kube.get(api.API_VERSION, "Tenant", spec.tenant)
    return strip(found) if found else None


def _release_namespace(app: KubeObject, spec: AppSpec, tenant: KubeObject | None) -> str:
    target = resolve_namespace(spec, tenant)
    if isinstance(target, Problem):
        return str((app.get("status") or {}).get("namespace") or spec.namespace or "default")
    return target


async def _reserved(ctx: Context) -> tuple[str, ...]:
    """Reserved namespace names: the DataPlane's (the first by name, as for tenants) and the
    agent settings' (its own namespace, the chart's list)."""
    dataplanes = await ctx.kube.list_objects(api.API_VERSION, "DataPlane")
    first = min(dataplanes, key=lambda o: o["metadata"]["name"]) if dataplanes else None
    return reserved_patterns(first) + ctx.settings.reserved()


async def observe(ctx: Context, app: KubeObject, spec: AppSpec) -> ApplicationObservation:
    """What the cluster says about the Application: tenant, namespace, release, live objects."""
    tenant = await _tenant(ctx, spec)
    target = resolve_namespace(spec, tenant)
    namespace = target if isinstance(target, str) else ""
    labels = None
    reserved = DEFAULT_RESERVED
    if namespace and not spec.tenant:
        found = await ctx.kube.get("v1", "Namespace", namespace)
        labels = (found["metadata"].get("labels") or {}) if found else None
        reserved = await _reserved(ctx)
    release: HelmRelease | None = None
    objects: tuple[Obj, ...] = ()
    desired: list[Obj] = []
    digest = ""
    if spec.helm is not None:
        ns = namespace or _release_namespace(app, spec, tenant)
        release, objects = await read_release(ctx, release_name(spec), ns)
        desired = list(objects)
        digest = await chart_digest(ctx, spec.helm)
    elif namespace:
        rendered = render_manifests(app, namespace)
        desired = rendered if isinstance(rendered, list) else []
    checked: tuple[ReferrerLookup, ...] = ()
    if spec.require_referrers and spec.helm is None:
        checked = await lookup_referrers(container_images(desired))
    if namespace and not spec.tenant:
        desired.append(render_namespace(app, namespace))
    refs = set(inventory(desired)) | set(inventory_from_status(app.get("status")))
    live = await _live(ctx, sorted(refs))
    return ApplicationObservation(
        app, tenant, labels, live, release, objects, reserved, chart_digest=digest,
        referrers=checked,
    )  # fmt: skip


async def _live(ctx: Context, refs: list[ObjectRef]) -> dict[ObjectRef, Obj]:
    async def one(ref: ObjectRef) -> Obj | None:
        try:
            return await ctx.kube.get(ref.api_version, ref.kind, ref.name, ref.namespace or None)
        except KubeError:
            return None  # a kind the server does not serve (yet): treat as missing

    found = await asyncio.gather(*(one(r) for r in refs))
    return {ref: strip(obj) for ref, obj in zip(refs, found, strict=True) if obj is not None}


async def act_helm(ctx: Context, app: KubeObject, decision: Decision) -> float | None:
    """Apply (the app's own namespace), run helm, prune, report."""
    try:
        await apply_all(ctx, decision.apply)
        await apply_as_helm(ctx, decision.repair)
    except KubeError as exc:
        return await report_failure(ctx, app, exc)
    if decision.helm is not None:
        failed = await _run_helm(ctx, app, decision)
        if failed is not None:
            await report(ctx, app, failed)
            return None
    if decision.uninstall:
        await ctx.helm.uninstall(decision.uninstall, decision.uninstall_namespace)
        return 0.5  # look again: the finalizer goes once the release is gone
    again = await act(
        ctx,
        app,
        Decision(
            prune=decision.prune,
            status=decision.status,
            events=decision.events,
            conditions=decision.conditions,
            release_finalizer=decision.release_finalizer,
            requeue_after=decision.requeue_after,
        ),
    )
    return AFTER_HELM if decision.helm is not None else again


async def _run_helm(ctx: Context, app: KubeObject, decision: Decision) -> Decision | None:
    """Install or upgrade; on failure, the Decision to report instead (Stalled, with the reason)."""
    action = decision.helm
    assert action is not None
    try:
        await install(ctx, action)
    except ChartRenderError as exc:
        return _stall(
            ctx,
            app,
            api.Reason.CHART_RENDER_FAILED,
            f"Chart '{action.chart}' does not render with `spec.helm.values`; nothing was "
            f"changed. Fix the chart or values. {_helm_said(exc)}",
            action.revision,
        )
    except HelmError as exc:
        await emit(
            ctx.kube, app, [Notice("Warning", api.Reason.HELM_RELEASE_FAILED, str(exc))], ctx.now()
        )
        return _stall(
            ctx,
            app,
            api.Reason.HELM_RELEASE_FAILED,
            f"helm upgrade of release '{action.release}' failed; the previously deployed "
            f"revision (if any) stays. Fix `spec.helm`. {_helm_said(exc)}",
            action.revision,
        )
    except ScopeRefused as exc:
        reason = api.Reason.CLUSTER_SCOPE_NOT_APPROVED
        return _stall(ctx, app, reason, str(exc), action.revision)
    except KubeError:
        raise  # the API server hiccupped while fetching the chart: retried with backoff
    except AgentError as exc:
        message = f"Chart '{action.chart}' cannot be used; nothing was changed: {exc}"
        return _stall(ctx, app, api.Reason.SOURCE_INVALID, message, action.revision)
    return None


def _helm_said(exc: HelmError) -> str:
    """Helm's own words (redacted when captured) or, when it said nothing, what went wrong."""
    said = first_lines(exc.stderr)
    return f"{HELM_SAID} {said}" if said else str(exc)[-MESSAGE_MAX:]


MESSAGE_MAX = 600
SAID_LINES = 4


def first_lines(stderr: str) -> str:
    """The first lines of Helm's error: from its first `Error:` line if it printed one (Helm 4
    logs progress before it), else from the start; at most SAID_LINES lines, MESSAGE_MAX chars."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), 0)
    return " ".join(lines[start : start + SAID_LINES])[:MESSAGE_MAX]


def _stall(ctx: Context, app: KubeObject, reason: str, message: str, revision: str) -> Decision:
    """Stalled, recording the attempted revision so it is not retried until the spec changes."""
    fields = {"lastAttemptedRevision": revision}
    return failure_status(app, reason, message, ctx.now(), stalled=True, fields=fields)
