"""Pure decisions for Applications: observations and a clock in, a Decision out.

Manifest apps: apply the out-of-sync rendered objects, prune the previous inventory minus the
desired one, then judge health from the live objects. Helm apps: install or upgrade when the
release does not carry the desired revision, wait while it is pending, stall when the release
for this revision failed, else judge health from the release's objects. The runtime runs Helm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from agent import api
from agent.core.application.drift import drifted, kept
from agent.core.application.referrers import ReferrerLookup, referrer_problem
from agent.core.application.spec import (
    AppSpec,
    inventory,
    inventory_from_status,
    prune_set,
    release_name,
    render_manifests,
    render_namespace,
    resolve_namespace,
    revision,
    tenant_not_ready,
)
from agent.core.conditions import Outcome, Problem
from agent.core.decision import Decision, Event, HelmAction, finish, suspended_outcome
from agent.core.health.assess import HealthSummary, assess, summarize
from agent.core.health.state import Health, HealthState
from agent.core.objects import Obj, ObjectRef, out_of_sync
from agent.core.reserved import DEFAULT_RESERVED, reserved_problem


@dataclass(frozen=True)
class HelmRelease:
    """The latest release record: Helm's status ('deployed', 'failed', 'pending-upgrade', ...),
    its number, and `applications.revision_of(description)` ("" when the agent did not write it,
    e.g. after a rollback)."""

    status: str
    number: int
    outpost_revision: str = ""


@dataclass(frozen=True)
class ApplicationObservation:
    """What the runtime saw for one Application.

    `tenant`: the referenced Tenant (None when absent or not referenced).
    `namespace_labels`: labels of the target namespace if it exists (data-plane apps).
    `live`: live versions of desired and inventoried objects (absent: does not exist).
    `release` and `release_objects`: the Helm release and its parsed manifest (Helm apps).
    `chart_digest`: the digest of the chart the release is made from, when the runtime knows it
    (a bundle chart's signed sha256): part of the revision, so a fixed chart of the same name
    and version is installed.
    `referrers`: per container image, what its registry lists (`spec.verify.requireReferrers`).
    """

    application: Obj
    tenant: Obj | None = None
    namespace_labels: Mapping[str, str] | None = None
    live: Mapping[ObjectRef, Obj] = field(default_factory=dict)
    release: HelmRelease | None = None
    release_objects: tuple[Obj, ...] = ()
    reserved: tuple[str, ...] = DEFAULT_RESERVED
    """The DataPlane's reserved namespace names (data-plane apps may not use them)."""
    chart_digest: str = ""
    referrers: tuple[ReferrerLookup, ...] = ()


HELM_REFERRERS = (
    "`spec.verify.requireReferrers` is checked for `spec.manifests` Applications only: a chart's"
    " images are known only once Helm renders it. Deploy the chart's objects as manifests, or"
    " drop the policy; nothing was installed."
)


def decide_application(obs: ApplicationObservation, now: datetime) -> Decision:
    """The Decision for one visit of an Application."""
    app_obj = obs.application
    app = AppSpec.from_object(app_obj)
    if (app_obj.get("metadata") or {}).get("deletionTimestamp"):
        return decide_deletion(obs, app, now)
    if app.suspend:
        return finish(app_obj, suspended_outcome(app_obj), _kept(app_obj), now)
    target = _target(obs, app)
    if isinstance(target, Problem):
        return finish(app_obj, target.outcome(), _kept(app_obj), now)
    if app.helm is not None:
        return _decide_helm(obs, app, target, now)
    return _decide_manifests(obs, app, target, now)


def _target(obs: ApplicationObservation, app: AppSpec) -> str | Problem:
    namespace = resolve_namespace(app, obs.tenant)
    if isinstance(namespace, Problem) or obs.tenant is None:
        return namespace if isinstance(namespace, Problem) else _namespace_free(obs, app, namespace)
    return tenant_not_ready(app, obs.tenant) or namespace


def _namespace_free(obs: ApplicationObservation, app: AppSpec, namespace: str) -> str | Problem:
    """A data-plane app's namespace must be new or labelled for this app, and not reserved."""
    labels = obs.namespace_labels
    if labels is None or labels.get(api.LABEL_APPLICATION) == app.name:
        return reserved_problem(namespace, obs.reserved, "spec.namespace") or namespace
    message = (
        f"Namespace '{namespace}' already exists and is not labelled "
        f"`{api.LABEL_APPLICATION}={app.name}`; choose another `spec.namespace` or label it."
    )
    return Problem(api.Reason.NAMESPACE_CONFLICT, message, namespace=namespace)


def _own_namespace(obs: ApplicationObservation, app: AppSpec, namespace: str) -> list[Obj]:
    return [] if app.tenant else [render_namespace(obs.application, namespace)]


def _decide_manifests(
    obs: ApplicationObservation, app: AppSpec, namespace: str, now: datetime
) -> Decision:
    rendered = render_manifests(obs.application, namespace)
    if isinstance(rendered, Problem):
        return finish(obs.application, rendered.outcome(), _kept(obs.application), now)
    unsigned = referrer_problem(app.require_referrers, obs.referrers)
    if unsigned is not None:
        return finish(obs.application, unsigned.outcome(), _kept(obs.application), now)
    desired = _own_namespace(obs, app, namespace) + rendered
    refs = inventory(desired)
    previous = inventory_from_status(obs.application.get("status"))
    apply = tuple(out_of_sync(desired, obs.live))
    rev = revision(app, namespace)
    health = _health(refs, obs.live, now)
    outcome = _applying(len(apply)) if apply else _health_outcome(health)
    fields = _fields(namespace, refs, health, rev if not apply else _last_applied(obs))
    return finish(
        obs.application, outcome, fields, now, apply=apply, prune=prune_set(previous, refs)
    )


def _decide_helm(
    obs: ApplicationObservation, app: AppSpec, namespace: str, now: datetime
) -> Decision:
    if app.require_referrers:
        # Helm renders the images at install time, after any check could run: refuse rather
        # than deploy unchecked.
        unchecked = Problem(api.Reason.SOURCE_INVALID, HELM_REFERRERS)
        return finish(obs.application, unchecked.outcome(), _kept(obs.application), now)
    rev, release = revision(app, namespace, obs.chart_digest), obs.release
    own_ns = _own_namespace(obs, app, namespace)
    apply = tuple(out_of_sync(own_ns, obs.live))
    refs = inventory([*own_ns, *obs.release_objects])
    health = _health(refs, obs.live, now)
    fields = _fields(namespace, refs, health, _last_applied(obs))
    fields |= _release_fields(app, namespace, release)
    waiting = _release_outcome(app, release, rev, _status(obs))
    if waiting is not None:
        return finish(obs.application, waiting, fields, now, apply=apply)
    if release is None or release.outpost_revision != rev:
        outcome = _applying(len(apply) + 1, "Installing or upgrading the Helm release")
        fields["lastAttemptedRevision"] = rev
        action = _helm_action(app, namespace, rev)
        return finish(obs.application, outcome, fields, now, apply=apply, helm=action)
    fields["lastAppliedRevision"] = rev
    repair = tuple(drifted(obs.release_objects, obs.live, release_name(app), namespace))
    if apply or repair:
        outcome = _applying(len(apply) + len(repair))
        decision = finish(obs.application, outcome, fields, now, apply=apply, repair=repair)
        return _with_events(decision, _repair_notice(repair))
    return finish(obs.application, _health_outcome(health), fields, now)


def _repair_notice(repair: Sequence[Obj]) -> tuple[Event, ...]:
    if not repair:
        return ()
    refs = inventory(repair)
    shown = ", ".join(str(ref) for ref in refs[:5]) + (" …" if len(refs) > 5 else "")
    return (Event("Normal", "DriftRepaired", f"Put back {len(refs)} objects: {shown}"),)


def _with_events(decision: Decision, events: tuple[Event, ...]) -> Decision:
    return replace(decision, events=decision.events + events)


def _deployed(release: HelmRelease | None, rev: str) -> bool:
    return release is not None and (release.status, release.outpost_revision) == ("deployed", rev)


def _pending(release: HelmRelease) -> bool:
    return release.status.startswith("pending-")


# Failures found before Helm touched anything: the next visit must keep saying so.
NOTHING_INSTALLED = (api.Reason.CHART_RENDER_FAILED, api.Reason.SOURCE_INVALID)
HELM_SAID = "helm said:"
"""How a failure message quotes Helm (`agent.reconcilers.application`)."""


def _release_outcome(
    app: AppSpec, release: HelmRelease | None, rev: str, status: Mapping[str, Any]
) -> Outcome | None:
    """Wait while Helm is busy; stall when this revision was tried and is not deployed."""
    if release is not None and _pending(release):
        message = f"Helm release is '{release.status}'; waiting for the running operation to end."
        return Outcome("False", api.Reason.PROGRESSING, message, reconciling=True)
    if _deployed(release, rev) or status.get("lastAttemptedRevision") != rev:
        return None
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    if release is None and ready.get("reason") in NOTHING_INSTALLED:
        return Outcome("False", str(ready["reason"]), str(ready.get("message", "")), stalled=True)
    if ready.get("reason") == api.Reason.CLUSTER_SCOPE_NOT_APPROVED:
        return None  # approvals live in the agent's settings: try again (nothing is touched)
    if ready.get("reason") == api.Reason.HELM_RELEASE_FAILED and HELM_SAID in ready.get(
        "message", ""
    ):
        # The failed attempt recorded Helm's own words: keep them, they name the cause.
        message = str(ready["message"])
        return Outcome("False", api.Reason.HELM_RELEASE_FAILED, message, stalled=True)
    state = f"revision {release.number} is '{release.status}'" if release else "was not created"
    message = (
        f"Helm release '{release_name(app)}' {state} after installing this spec; fix the chart "
        "or values in `spec.helm` (any spec change retries)."
    )
    return Outcome("False", api.Reason.HELM_RELEASE_FAILED, message, stalled=True)


def decide_deletion(obs: ApplicationObservation, app: AppSpec, now: datetime) -> Decision:
    """Uninstall the release or prune the inventory; release the finalizer once all is gone."""
    previous = inventory_from_status(obs.application.get("status"))
    # Objects a chart marks `helm.sh/resource-policy: keep` outlive the release, as in Helm.
    remaining = tuple(ref for ref in previous if ref in obs.live and not kept(obs.live[ref]))
    namespace = (obs.application.get("status") or {}).get("namespace") or app.namespace
    uninstall = release_name(app) if app.helm is not None and obs.release is not None else ""
    if not remaining and not uninstall:
        return Decision(release_finalizer=True)
    message = f"Application is being deleted; removing {len(remaining)} objects."
    outcome = Outcome("False", api.Reason.DELETING, message, reconciling=True)
    prune = () if uninstall else prune_set(remaining, ())
    acts: Obj = {"prune": prune, "uninstall": uninstall}
    acts["uninstall_namespace"] = namespace if uninstall else ""
    return finish(obs.application, outcome, _kept(obs.application), now, **acts)


def _helm_action(app: AppSpec, namespace: str, rev: str) -> HelmAction:
    helm = app.helm
    assert helm is not None
    return HelmAction(
        release=release_name(app),
        namespace=namespace,
        chart=helm.chart,
        version=helm.version,
        repo_url=helm.repo_url,
        location=helm.location,
        values=helm.values,
        revision=rev,
        images=helm.images,
    )


def _health(
    refs: Sequence[ObjectRef], live: Mapping[ObjectRef, Obj], now: datetime
) -> HealthSummary:
    missing = Health(HealthState.IN_PROGRESS, "does not exist yet")
    return summarize([(ref, assess(live[ref], now) if ref in live else missing) for ref in refs])


def _health_outcome(health: HealthSummary) -> Outcome:
    state = health.state
    if state is HealthState.CURRENT:
        return Outcome("True", api.Reason.RECONCILED, f"Applied and healthy: {health.message}.")
    if state is HealthState.FAILED:
        return Outcome("False", api.Reason.HEALTH_CHECK_FAILED, health.message + ".")
    if state is HealthState.UNKNOWN:
        message = f"{health.message}; the vendor should publish a Ready condition on these kinds."
        return Outcome("Unknown", api.Reason.CUSTOM_RESOURCE_HEALTH_UNKNOWN, message)
    return Outcome("False", api.Reason.PROGRESSING, health.message + ".", reconciling=True)


def _applying(count: int, what: str = "") -> Outcome:
    message = what or f"Applying {count} objects that differ from the desired state"
    return Outcome("False", api.Reason.PROGRESSING, message + ".", reconciling=True)


def _fields(namespace: str, refs: Sequence[ObjectRef], health: HealthSummary, rev: str) -> Obj:
    fields: Obj = {
        "namespace": namespace,
        "inventory": [ref.to_dict() for ref in refs],
        "health": health.to_dict(),
    }
    if rev:
        fields["lastAppliedRevision"] = rev
    return fields


def _release_fields(app: AppSpec, namespace: str, release: HelmRelease | None) -> Obj:
    if release is None:
        return {}
    info = {"name": release_name(app), "namespace": namespace, "revision": release.number}
    return {"helmRelease": {**info, "status": release.status}}


def _status(obs: ApplicationObservation) -> Mapping[str, Any]:
    return obs.application.get("status") or {}


def _last_applied(obs: ApplicationObservation) -> str:
    return str(_status(obs).get("lastAppliedRevision") or "")


def _kept(obj: Mapping[str, Any]) -> Obj:
    """Kind-specific status fields carried over unchanged when nothing new was learnt."""
    status = obj.get("status") or {}
    return {k: v for k, v in status.items() if k not in ("conditions", "observedGeneration")}
