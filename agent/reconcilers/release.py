"""Helm releases of Applications: read the release record, validate, install or upgrade, recover.

Reading goes straight to Helm's storage (the release Secrets, label `owner=helm`), decoding the
latest record for its status and manifest: one LIST instead of two helm processes per visit.
Writing goes through the helm CLI (agent.helm): `helm template` first so a chart that does not
render is reported before anything is touched, then `upgrade --install` without waiting, with
the desired revision digest as a release label so the next visit knows it is done.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from typing import Any

from agent import api
from agent.decide_app import HelmRelease
from agent.decision import HelmAction
from agent.errors import ChartRenderError, HelmError
from agent.helm import PENDING, Chart
from agent.objects import Obj, is_namespaced
from agent.reconcilers import Context

LABEL_REVISION = api.ANNOTATION_REVISION
"""Release label holding the digest the release was made from (a label: no ':' and ≤ 63 chars)."""


def revision_label(revision: str) -> str:
    """The label form of a `sha256:<hex>` revision digest."""
    return revision.removeprefix("sha256:")[:40]


def decode_release(data: str) -> dict[str, Any]:
    """Helm's storage encoding: base64 (Secret) of base64 of gzip of JSON."""
    raw = base64.b64decode(base64.b64decode(data))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return dict(json.loads(raw))


async def read_release(
    ctx: Context, release: str, namespace: str, desired: str
) -> tuple[HelmRelease | None, tuple[Obj, ...]]:
    """The latest release record and its objects (namespaced into the release namespace).

    `desired` is the revision we want; the release reports it back when its label matches.
    """
    secrets = await ctx.kube.list_objects(
        "v1", "Secret", namespace=namespace, labels=f"owner=helm,name={release}"
    )
    if not secrets:
        return None, ()
    latest = max(secrets, key=lambda s: int(s["metadata"]["labels"].get("version", "0")))
    record = decode_release(latest["data"]["release"])
    label = latest["metadata"]["labels"].get(LABEL_REVISION, "")
    info = HelmRelease(
        str(record["info"]["status"]),
        int(record["version"]),
        desired if label and label == revision_label(desired) else label,
    )
    return info, tuple(_objects(ctx, str(record.get("manifest") or ""), namespace))


def _objects(ctx: Context, manifest: str, namespace: str) -> list[Obj]:
    from agent.helm import parse_manifest

    objs = parse_manifest(manifest)
    for obj in objs:
        meta = obj.setdefault("metadata", {})
        if is_namespaced(obj["kind"]):
            meta.setdefault("namespace", namespace)
    return objs


def chart_of(ctx: Context, action: HelmAction) -> Chart:
    """Bundle charts are paths under the chart root; OCI and repository refs pass through."""
    ref = action.chart
    if action.location == "bundle":
        ref = os.path.join(ctx.settings.chart_root, action.chart)
    return Chart(ref, action.version, action.repo_url)


async def install(ctx: Context, action: HelmAction) -> None:
    """Render first (nothing is touched if that fails), then upgrade --install.

    Raises:
        ChartRenderError: the chart does not render (nothing was touched).
        HelmError: the install or upgrade failed.
    """
    chart = chart_of(ctx, action)
    try:
        await ctx.helm.template(action.release, action.namespace, chart, action.values)
    except HelmError as exc:
        raise ChartRenderError(str(exc), exc.stderr, exc.returncode) from exc
    labels = {LABEL_REVISION: revision_label(action.revision)}
    await ctx.helm.upgrade_install(action.release, action.namespace, chart, action.values, labels)


async def recover_if_stuck(
    ctx: Context, release: HelmRelease | None, name: str, namespace: str
) -> bool:
    """Unlock a release left pending by a helm process that is gone; True if something was done."""
    if release is None or release.status not in PENDING:
        return False
    return await ctx.helm.recover(name, namespace) != "none"
