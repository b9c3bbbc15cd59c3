"""Bundle: re-verify → find its place on the channel → apply CRDs, then resources → prune → report.

Every visit verifies the Bundle again from the trust root in the agent's settings (never from the
bundle alone) and checks each content file's sha256 before its bytes are used; anything that does
not verify is refused with nothing applied (Stalled, VerificationFailed or RollbackRefused). The
channel's history is read from the cluster (`bundle.lineage`): a Bundle that a later one replaced
reports Superseded and applies nothing; any other must end its keyring chain at or above the
cluster's trust floor (`trustfloor`: a retired key cannot sign again by carrying an older chain),
which it raises; a Bundle not applied yet must pass `rollback.decide`
against the Bundle in force (a signed downgrade permit can allow a lower sequence). Once applied,
the Bundle is annotated `outpost.dev/applied-at` and the objects the previous Bundle had and this
one dropped are pruned. Applied objects carry the label `outpost.dev/bundle-product=<product>`
(stable across upgrades, used to find them) and the annotation `outpost.dev/bundle=<name>`.
Content ConfigMaps are never pruned: nothing lists them as applied objects.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import k8syaml
from agent import api
from agent.core.bundle import BundleObservation, Checked, Evidence, decide_bundle, reverify
from agent.core.conditions import Outcome, Problem, Verdict
from agent.core.decision import finish
from agent.core.health.state import condition
from agent.core.objects import Obj, ObjectRef, out_of_sync, ref_of, with_labels
from agent.core.upgrade import PREVIOUS, rollback_due
from agent.errors import KubeError
from agent.kube.events import Notice, emit
from agent.reconcilers import license as licensing
from agent.reconcilers import preflight, trustfloor, upgrade
from agent.reconcilers.act import act, apply_all, prune_all, report, report_failure, strip
from agent.reconcilers.content import read_content, read_trust_root
from agent.reconcilers.context import Context, KubeObject
from agent.reconcilers.relocate import relocated
from bundle.errors import VerificationError
from bundle.lineage import APPLIED_AT, Imported, format_applied, in_force, lineage, superseded_by
from bundle.preflight import Result, failed
from bundle.rollback import Applied, decide, verify_permit
from bundle.trustfloor import applied_from_data, latest
from facts import rfc3339
from facts.api import CONTENT_PREFIX

LABEL_PRODUCT = "outpost.dev/bundle-product"
ANNOTATION_BUNDLE = "outpost.dev/bundle"
SUPERSEDED = "Superseded"
POLICY = "verified at every reconcile"
CRD_API = "apiextensions.k8s.io/v1"
CRD_WAIT_SECONDS = 30.0
CRD_RETRY_SECONDS = 5.0
WAITED_FOR = ("Tenant", "Application")
"""Kinds whose readiness the Bundle's Ready waits for (each reports its own progress)."""


async def reconcile(ctx: Context, name: str) -> float | None:
    """Visit one Bundle: verify again, decide, apply what it carries, report."""
    bundle = await ctx.kube.get(api.API_VERSION, "Bundle", name)
    if bundle is None:
        ctx.metrics.set_ready("Bundle", name, None)
        return None
    bundle, now = strip(bundle), ctx.now()
    if upgrade.is_rolled_back(bundle):
        return await upgrade.hold_or_retry(ctx, bundle)
    try:
        checked = reverify(bundle, read_trust_root(ctx.settings), now)
    except VerificationError as exc:
        return await refuse(ctx, bundle, api.Reason.VERIFICATION_FAILED, str(exc))
    family = {b["metadata"]["name"]: b for b in await _bundles(ctx)}
    lineage_ = lineage(family.values(), checked.manifest.product, checked.manifest.channel)
    me = Imported.from_object(bundle)
    newer = superseded_by(me, lineage_)
    if newer is not None:
        return await _superseded(ctx, bundle, checked, newer.name, now)
    try:
        remembered = await trustfloor.hold(ctx, checked.keyring)
    except VerificationError as exc:
        return await refuse(ctx, bundle, api.Reason.ROLLBACK_REFUSED, str(exc))
    except KubeError as exc:
        return await report_failure(ctx, bundle, exc)
    if me.applied_at is not None:
        return await _apply(ctx, bundle, checked, (), first=False)
    previous = in_force(lineage_, exclude=name)
    m = checked.manifest
    try:
        # Bundle objects can be deleted: the sequence remembered beside the floor still counts.
        last = latest(previous.to_applied() if previous else None,
                      applied_from_data(remembered, m.product, m.channel))  # fmt: skip
        _admit(checked, bundle, last, now)
    except VerificationError as exc:
        return await refuse(ctx, bundle, api.Reason.ROLLBACK_REFUSED, str(exc))
    dropped = _applied_refs(family[previous.name]) if previous else ()
    return await _first_apply(ctx, bundle, checked, dropped, previous.name if previous else "")


async def _first_apply(
    ctx: Context, bundle: KubeObject, checked: Checked, dropped: Sequence[ObjectRef], previous: str
) -> float | None:
    """Licence, preflight, then remember the sequence as applied, then apply (the first time)."""
    m, now = checked.manifest, ctx.now()
    if (held := await licensing.gate(ctx, bundle)) is not None:
        return await refuse(ctx, bundle, held.reason, held.message)
    try:
        results = await preflight.run(ctx, bundle, checked)
    except VerificationError as exc:
        return await refuse(ctx, bundle, api.Reason.VERIFICATION_FAILED, str(exc))
    except KubeError as exc:
        return await report_failure(ctx, bundle, exc)
    if results is not None:
        await preflight.warn(ctx, bundle, results)
        if failed(results):  # the bundle in force stays in force: nothing of this one is applied
            obs = BundleObservation(bundle, _evidence(bundle, checked, now), preflight=results)
            return await act(ctx, bundle, decide_bundle(obs, ctx.now()))
    # Remembered only once preflight passed: a refused bundle must not count as applied.
    try:
        applied = Applied(m.sequence, checked.verified.digest)
        await trustfloor.remember(ctx, m.product, m.channel, applied)
    except VerificationError as exc:  # the remembered entry became unreadable meanwhile
        return await refuse(ctx, bundle, api.Reason.ROLLBACK_REFUSED, str(exc))
    except KubeError as exc:
        return await report_failure(ctx, bundle, exc)
    return await _apply(
        ctx, bundle, checked, dropped, first=True, preflight=results, previous=previous
    )


async def _bundles(ctx: Context) -> list[KubeObject]:
    return [strip(b) for b in await ctx.kube.list_objects(api.API_VERSION, "Bundle")]


def _admit(checked: Checked, bundle: KubeObject, last: Applied | None, now: datetime) -> None:
    """Anti-rollback against what was applied last; a permit counts only if it verifies."""
    text = (bundle.get("spec") or {}).get("downgradePermit")
    permit = verify_permit(str(text).encode(), checked.keyring, now) if text else None
    decide(checked.verified, last, permit)


async def refuse(ctx: Context, bundle: KubeObject, reason: str, message: str) -> float | None:
    """Ready=False, Stalled; nothing applied, and what was applied before is left alone."""
    problem = Problem(reason, message)
    obs = BundleObservation(bundle, problem, applied=_applied_refs(bundle))
    return await act(ctx, bundle, decide_bundle(obs, ctx.now()))


async def _superseded(
    ctx: Context, bundle: KubeObject, checked: Checked, newer: str, now: datetime
) -> float | None:
    message = f"Bundle '{newer}' was applied after this one; nothing of this bundle is applied."
    verified = Verdict(api.ConditionType.VERIFIED, "True", api.Reason.VERIFIED,
                       "Signature, keyring chain and manifest verified.")  # fmt: skip
    applied = Verdict(api.ConditionType.APPLIED, "False", SUPERSEDED, message)
    outcome = Outcome("False", SUPERSEDED, message, extra=(verified, applied))
    fields = {"applied": [], "evidence": _evidence(bundle, checked, now).to_dict()}
    await report(ctx, bundle, finish(bundle, outcome, fields, now))
    return None


def _evidence(bundle: KubeObject, checked: Checked, now: datetime) -> Evidence:
    """The evidence; the first verification's time is kept while the manifest stays the same."""
    digest = f"sha256:{checked.verified.digest}"
    live = (bundle.get("status") or {}).get("evidence") or {}
    signers = tuple(checked.verified.signers)
    when = now
    if live.get("manifestDigest") == digest and tuple(live.get("signerKeyIds") or ()) == signers:
        when = rfc3339.parse_time(live.get("verifiedTime")) or now
    return Evidence(signers, digest, when, POLICY)


def _applied_refs(bundle: KubeObject) -> tuple[ObjectRef, ...]:
    refs = (bundle.get("status") or {}).get("applied") or ()
    return tuple(ObjectRef.from_dict(r) for r in refs)


async def _apply(
    ctx: Context,
    bundle: KubeObject,
    checked: Checked,
    dropped: Sequence[ObjectRef],
    first: bool,
    *,
    preflight: tuple[Result, ...] | None = None,
    previous: str = "",
) -> float | None:
    """CRDs, then resources, then prune; `first` marks the Bundle as the one now in force."""
    try:
        crds, groups = await _load(ctx, bundle, checked)
    except VerificationError as exc:
        return await refuse(ctx, bundle, api.Reason.VERIFICATION_FAILED, str(exc))
    except ValueError as exc:
        return await refuse(ctx, bundle, api.Reason.MANIFEST_INVALID, str(exc))
    try:
        if not await _install_crds(ctx, crds):
            return CRD_RETRY_SECONDS  # the resources would be refused until they are Established
        live, written = await _write(ctx, bundle, groups, dropped, checked.manifest.product)
    except KubeError as exc:
        return await report_failure(ctx, bundle, exc)
    wanted = {ref_of(obj) for group in groups for obj in group}
    # Objects that failed since they were applied hold the bundle back until they recover;
    # Tenants and Applications must also be Ready before the Bundle says it is.
    pending = [str(ref) for ref, obj in live.items() if ref in wanted and _not_ready(obj)]
    waiting = [str(r) for r in sorted(wanted) if _awaited(r, live.get(r), r in written)]
    now = ctx.now()
    evidence = _evidence(bundle, checked, now)
    obs = BundleObservation(bundle, evidence, tuple(sorted(wanted)), tuple(pending),
                            tuple(waiting), preflight)  # fmt: skip
    applied_at = Imported.from_object(bundle).applied_at
    unhealthy = [*pending, *waiting]
    if not first and applied_at and rollback_due(bundle, applied_at, unhealthy, now):
        return await upgrade.roll_back(ctx, bundle, unhealthy)
    again = await act(ctx, bundle, decide_bundle(obs, now))
    if first:
        await _mark_applied(ctx, bundle, now, previous)
    return again


async def _write(
    ctx: Context,
    bundle: KubeObject,
    groups: Sequence[Sequence[Obj]],
    dropped: Sequence[ObjectRef],
    product: str,
) -> tuple[dict[ObjectRef, Obj], set[ObjectRef]]:
    """Apply what is out of sync, group by group in manifest order, then prune what the previous
    bundle had and this one dropped. Returns the live objects as they were before, and the refs
    written now. A hand edit of an object this Bundle applied is put back, with an Event."""
    live = await _live(ctx, [obj for group in groups for obj in group], product)
    written: set[ObjectRef] = set()
    for group in groups:
        changed = out_of_sync(list(group), live)
        await apply_all(ctx, changed)
        written |= {ref_of(obj) for obj in changed}
        _visit_soon(ctx, changed)
    await _report_reverted(ctx, bundle, [live[r] for r in sorted(written) if r in live])
    wanted = {ref_of(obj) for group in groups for obj in group}
    prune = [r for r in dropped if r not in wanted and not _is_content(r)]
    await prune_all(ctx, prune)
    if prune:
        shown = ", ".join(str(r) for r in prune[:5]) + (" …" if len(prune) > 5 else "")
        notice = Notice("Normal", "Pruned", f"Deleted {len(prune)} objects dropped: {shown}")
        await emit(ctx.kube, bundle, [notice], ctx.now())
    return live, written


def _visit_soon(ctx: Context, applied: Sequence[Obj]) -> None:
    """Our own write's watch event is dropped as ours: a Tenant or Application the Bundle just
    created or changed is queued for its first visit now, not at the next resync."""
    for obj in applied:
        if obj["kind"] in WAITED_FOR:
            ctx.triggers.enqueue(f"{obj['kind']}/{obj['metadata']['name']}", 0.0)


async def _report_reverted(ctx: Context, bundle: KubeObject, before: Sequence[Obj]) -> None:
    """An Event naming the objects this very Bundle had applied that someone changed by hand."""
    name = bundle["metadata"]["name"]
    edited = [
        ref_of(o)
        for o in before
        if ((o.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_BUNDLE) == name
    ]
    if edited:
        shown = ", ".join(str(r) for r in edited[:5]) + (" …" if len(edited) > 5 else "")
        message = f"Put back {len(edited)} objects changed by hand: {shown}"
        await emit(ctx.kube, bundle, [Notice("Normal", "Reverted", message)], ctx.now())


async def _load(
    ctx: Context, bundle: KubeObject, checked: Checked
) -> tuple[list[Obj], list[list[Obj]]]:
    """CRDs, and the resources grouped by their manifest `order`, each labelled as ours."""
    m, name = checked.manifest, bundle["metadata"]["name"]
    crds = [doc for path in m.crds for doc in await _docs(ctx, bundle, checked, path)]
    ordered = sorted(enumerate(m.resources), key=lambda item: (item[1].order, item[0]))
    groups: list[list[Obj]] = []
    for _order, items in itertools.groupby(ordered, key=lambda item: item[1].order):
        group = [doc for _, r in items for doc in await _docs(ctx, bundle, checked, r.path)]
        group = [await relocated(ctx, bundle, checked, doc) for doc in group]
        groups.append([_ours(doc, m.product, name) for doc in group])
    return crds, groups


async def _docs(ctx: Context, bundle: KubeObject, checked: Checked, path: str) -> list[Obj]:
    data = await read_content(ctx.kube, bundle, checked.manifest, path)
    try:
        docs = k8syaml.load_all(data)
    except k8syaml.YamlError as exc:
        raise ValueError(f"bundle member '{path}' is not valid YAML: {exc}") from exc
    for doc in docs:
        if not isinstance(doc, dict) or not {"apiVersion", "kind"} <= doc.keys():
            raise ValueError(f"'{path}' holds a document without apiVersion and kind")
        if not (doc.get("metadata") or {}).get("name"):
            raise ValueError(f"'{path}' holds a {doc['kind']} without metadata.name")
    return docs


def _ours(doc: Obj, product: str, bundle_name: str) -> Obj:
    obj = with_labels(doc, {LABEL_PRODUCT: product[:63]})
    obj["metadata"]["annotations"] = {
        **(obj["metadata"].get("annotations") or {}),
        ANNOTATION_BUNDLE: bundle_name,
    }
    return obj


async def _install_crds(ctx: Context, crds: Sequence[Obj]) -> bool:
    """Apply the CRDs that changed and wait (bounded) until every one is Established."""
    live = await asyncio.gather(
        *(ctx.kube.get(CRD_API, "CustomResourceDefinition", c["metadata"]["name"]) for c in crds)
    )
    changed = out_of_sync(list(crds), {ref_of(o): o for o in live if o})
    await apply_all(ctx, changed)
    resources = getattr(ctx.kube, "resources", None)
    for crd in changed:
        for version in (crd.get("spec") or {}).get("versions") or ():
            if resources is not None:
                resources.forget(f"{crd['spec']['group']}/{version['name']}")
    deadline = asyncio.get_running_loop().time() + CRD_WAIT_SECONDS
    for crd in crds:
        while not await _established(ctx, crd["metadata"]["name"]):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.5)
    return True


async def _established(ctx: Context, name: str) -> bool:
    crd = await ctx.kube.get(CRD_API, "CustomResourceDefinition", name)
    found = condition(crd or {}, "Established")
    return found is not None and found.get("status") == "True"


async def _live(ctx: Context, desired: Sequence[Obj], product: str) -> dict[ObjectRef, Obj]:
    """Our live objects of the kinds the bundle holds (one labelled LIST per kind)."""
    kinds = sorted({(o["apiVersion"], o["kind"]) for o in desired})
    selector = f"{LABEL_PRODUCT}={product[:63]}"
    lists = await asyncio.gather(
        *(ctx.kube.list_objects(av, kind, labels=selector) for av, kind in kinds)
    )
    return {ref_of(o): strip(o) for found in lists for o in found}


def _not_ready(obj: dict[str, Any]) -> bool:
    """Only objects that failed hold the bundle back; each reports its own progress and health
    (a DataPlane waiting for others, or a custom resource without status, is not the bundle's)."""
    found = condition(obj, api.ConditionType.STALLED)
    return found is not None and found.get("status") == "True"


def _awaited(ref: ObjectRef, obj: dict[str, Any] | None, just_written: bool) -> bool:
    """A Tenant or Application the Bundle must wait for: just written, without a current
    status, or not Ready (Unknown is enough for apps whose custom resources publish no status)."""
    if ref.kind not in WAITED_FOR:
        return False
    if obj is None or just_written:
        return True
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    if status.get("observedGeneration") not in (None, generation):
        return True
    ready = condition(obj, api.ConditionType.READY) or {}
    if ready.get("status") == "True":
        return False
    return not (
        ready.get("status") == "Unknown"
        and ready.get("reason") == api.Reason.CUSTOM_RESOURCE_HEALTH_UNKNOWN
    )


def _is_content(ref: ObjectRef) -> bool:
    return ref.kind == "ConfigMap" and ref.name.startswith(CONTENT_PREFIX)


async def _mark_applied(ctx: Context, bundle: KubeObject, now: datetime, previous: str) -> None:
    """Record in the cluster that this Bundle is now the one in force on its channel, and
    which one it replaced (what a health-gated rollback goes back to)."""
    name = bundle["metadata"]["name"]
    notes = {APPLIED_AT: format_applied(now), **({PREVIOUS: previous} if previous else {})}
    note = {"name": name, "annotations": notes}
    await ctx.kube.apply({"apiVersion": api.API_VERSION, "kind": "Bundle", "metadata": note})
    for other in await ctx.kube.list_objects(api.API_VERSION, "Bundle"):
        if other["metadata"]["name"] != name:
            ctx.triggers.enqueue(f"Bundle/{other['metadata']['name']}", 0.0)
