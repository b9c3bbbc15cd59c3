"""Helm releases of Applications: read the release record, validate, install or upgrade, recover.

Reading goes straight to Helm's storage (the release Secrets, label `owner=helm`), decoding the
latest record for its status and manifest: one LIST instead of two helm processes per visit.
Writing goes through the helm CLI (agent.kube.helm): `helm template` first so a chart that does not
render is reported before anything is touched, then `upgrade --install` without waiting, with
the desired spec revision as the release description so the next visit knows it is done.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from typing import Any

from agent.core.application.clusterscope import approvals, refusal, unapproved
from agent.core.application.decide import HelmRelease
from agent.core.application.spec import HelmSource, describe_revision, revision_of
from agent.core.decision import HelmAction
from agent.core.objects import Obj, is_namespaced
from agent.errors import ChartRenderError, HelmError, KubeError, ScopeRefused
from agent.kube.helm import PENDING, Chart
from agent.reconcilers.content import materialize_chart
from agent.reconcilers.context import Context


def decode_release(data: str) -> dict[str, Any]:
    """Helm's storage encoding: base64 (Secret) of base64 of gzip of JSON."""
    raw = base64.b64decode(base64.b64decode(data))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return dict(json.loads(raw))


async def read_release(
    ctx: Context, release: str, namespace: str
) -> tuple[HelmRelease | None, tuple[Obj, ...]]:
    """The latest release record and its objects (namespaced into the release namespace)."""
    try:
        secrets = await ctx.kube.list_objects(
            "v1", "Secret", namespace=namespace, labels=f"owner=helm,name={release}"
        )
    except KubeError as exc:
        # 403: the namespace is not bootstrapped yet (no agent RoleBinding), so no release of
        # ours can be in it; 404: the namespace does not exist yet.
        if exc.status not in (403, 404):
            raise
        secrets = []
    if not secrets:
        return None, ()
    latest = max(secrets, key=lambda s: int(s["metadata"]["labels"].get("version", "0")))
    record = decode_release(latest["data"]["release"])
    # Helm replaces our description with its own on failure: a failed record made from this
    # spec then reads "", and the Application's lastAttemptedRevision tells the rest.
    made_from = revision_of(str(record["info"].get("description") or ""))
    info = HelmRelease(str(record["info"]["status"]), int(record["version"]), made_from)
    return info, tuple(_objects(ctx, str(record.get("manifest") or ""), namespace))


def _objects(ctx: Context, manifest: str, namespace: str) -> list[Obj]:
    from agent.kube.helm import parse_manifest

    objs = parse_manifest(manifest)
    for obj in objs:
        meta = obj.setdefault("metadata", {})
        if is_namespaced(obj["kind"]):
            meta.setdefault("namespace", namespace)
    return objs


async def chart_digest(ctx: Context, helm: HelmSource) -> str:
    """The digest of the chart's bytes when the agent can know it without a registry: a bundle
    chart's signed sha256 (from the newest applied Bundle carrying it) or a digest of the files
    of a chart under the chart root. "" for repository charts; an `oci://…@sha256:` reference
    carries its digest in the spec already."""
    if helm.location != "bundle":
        return ""
    local = os.path.join(ctx.settings.chart_root, helm.chart)
    if os.path.exists(local):
        return tree_digest(local)
    from agent.reconcilers.content import signed_chart_digest

    return await signed_chart_digest(ctx.kube, helm.chart)


def tree_digest(path: str) -> str:
    """sha256 over the relative names and bytes of every file under `path` (or of the file)."""
    sha = hashlib.sha256()
    if os.path.isfile(path):
        files = [path]
    else:
        files = sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names)
    for name in files:
        sha.update(os.path.relpath(name, path).encode() + b"\0")
        with open(name, "rb") as handle:
            sha.update(hashlib.sha256(handle.read()).digest())
    return f"sha256:{sha.hexdigest()}"


async def chart_of(ctx: Context, action: HelmAction) -> Chart:
    """Bundle charts are paths under the chart root or, when not there, the verified copy from
    the newest applied Bundle carrying them; OCI and repository refs pass through."""
    ref = action.chart
    if action.location == "bundle":
        ref = os.path.join(ctx.settings.chart_root, action.chart)
        if not os.path.exists(ref):
            ref = await materialize_chart(ctx.kube, ctx.settings, action.chart)
    return Chart(ref, action.version, action.repo_url)


async def install(ctx: Context, action: HelmAction) -> None:
    """Render first (nothing is touched if that fails), then upgrade --install.

    Raises:
        ChartRenderError: the chart does not render (nothing was touched).
        ScopeRefused: it would create unapproved cluster-scoped objects (nothing was touched).
        HelmError: the install or upgrade failed.
    """
    chart = await chart_of(ctx, action)
    images = action.images
    try:
        rendered = await ctx.helm.template(
            action.release, action.namespace, chart, action.values, images
        )
    except HelmError as exc:
        raise ChartRenderError(str(exc), exc.stderr, exc.returncode) from exc
    _check_scope(ctx, rendered)
    described = describe_revision(action.revision)
    await ctx.helm.upgrade_install(
        action.release, action.namespace, chart, action.values, described, images=images
    )


def _check_scope(ctx: Context, rendered: list[dict[str, Any]]) -> None:
    """Refuse unapproved cluster-scoped objects. Enforced in the cluster (the chart passes the
    approvals, empty by default) or whenever approvals are configured; an agent run by hand
    with neither leaves it to the RBAC of its kubeconfig.

    Raises:
        ScopeRefused: the chart would create cluster-scoped objects not approved.
    """
    settings = ctx.settings
    if not (settings.in_cluster or settings.cluster_scoped or settings.bundle_crds):
        return
    approved = approvals(settings.cluster_scoped.split(","), settings.bundle_crds.split(","))
    refused = unapproved(rendered, approved)
    if refused:
        raise ScopeRefused(refusal(refused))


async def recover_if_stuck(
    ctx: Context, release: HelmRelease | None, name: str, namespace: str
) -> bool:
    """Unlock a release left pending by a helm process that is gone; True if something was done."""
    if release is None or release.status not in PENDING:
        return False
    if await ctx.helm.recover(name, namespace) == "none":
        return False
    await _fail_pending(ctx, name, namespace)
    return True


async def _fail_pending(ctx: Context, name: str, namespace: str) -> None:
    """Mark records still pending after the recovery as failed (helm's rollback leaves them)."""
    selector = f"owner=helm,name={name}"
    for secret in await ctx.kube.list_objects("v1", "Secret", namespace=namespace, labels=selector):
        if secret["metadata"]["labels"].get("status") not in PENDING:
            continue
        record = decode_release(secret["data"]["release"])
        record["info"]["status"] = "failed"
        record["info"]["description"] = "Marked failed by outpost-agent: its helm process was gone."
        patch = {
            "metadata": {
                "labels": {"status": "failed"},
                "resourceVersion": secret["metadata"]["resourceVersion"],
            },
            "data": {"release": encode_release(record)},
        }
        await ctx.kube.patch(secret, patch)


def encode_release(record: dict[str, Any]) -> str:
    """The inverse of `decode_release`."""
    inner = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    return base64.b64encode(inner).decode()
