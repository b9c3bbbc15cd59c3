"""Relocating a bundle's resources to `Bundle.spec.registry` as they are applied.

I/O glue around the pure `agent.core.relocation`: when the Bundle records a registry, each resource
is rewritten so images point at it by digest (digests from the signed manifest only) and bundle
charts at `oci://<registry>/charts/<name>@sha256:…`, the digest computed from the signed archive
exactly as the importer pushed it (so a moved tag changes nothing). For a Helm Application the
chart's own default values are read (from the verified chart archive in the bundle's content)
so that values which override only a tag still end up pinned to the relocated repository by
digest.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import k8syaml
from agent.core.bundle import Checked
from agent.core.objects import Obj
from agent.core.relocation import relocate_resource
from agent.errors import ConfigError
from agent.reconcilers.content import read_content
from agent.reconcilers.context import Context, KubeObject
from bundle.charts import oci_digest
from bundle.errors import BundleError
from bundle.manifest import ChartEntry, Manifest

MAX_VALUES_BYTES = 1024 * 1024


async def relocated(ctx: Context, bundle: KubeObject, checked: Checked, doc: Obj) -> Obj:
    """`doc` relocated to the Bundle's `spec.registry` (unchanged when there is none)."""
    registry = str((bundle.get("spec") or {}).get("registry") or "")
    if not registry:
        return doc
    manifest = checked.manifest
    helm = (doc.get("spec") or {}).get("helm") if doc.get("kind") == "Application" else None
    entry = bundle_chart(manifest, helm) if isinstance(helm, dict) else None
    defaults, digest = None, ""
    if entry is not None and isinstance(helm, dict):
        doc = _with_version(doc, entry)
        tgz = await read_content(ctx.kube, bundle, manifest, entry.path)
        defaults, digest = chart_defaults(tgz), _oci_digest(tgz, entry.path)
    try:
        return relocate_resource(doc, manifest.images, registry, defaults, digest)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc  # reported like any unusable resource


def _oci_digest(tgz: bytes, path: str) -> str:
    """The digest the importer pushed the (verified) chart under; the agent pulls by it."""
    try:
        return oci_digest(tgz)
    except BundleError as exc:
        raise ValueError(f"bundle chart '{path}' cannot be pinned by digest: {exc}") from exc


def bundle_chart(manifest: Manifest, helm: dict[str, Any]) -> ChartEntry | None:
    """The bundle's chart an Application's `spec.helm.chart` path names, if any."""
    chart, version = str(helm.get("chart") or ""), str(helm.get("version") or "")
    if helm.get("repoURL") or not chart.startswith("charts/"):
        return None
    exact = [c for c in manifest.charts if c.path == chart]
    named = [c for c in manifest.charts if f"charts/{c.name}" == chart.rstrip("/")]
    if version:
        named = [c for c in named if c.version == version]
    found = exact or named
    return found[-1] if found else None


def _with_version(doc: Obj, entry: ChartEntry) -> Obj:
    helm = doc["spec"]["helm"]
    if helm.get("version"):
        return doc
    return {**doc, "spec": {**doc["spec"], "helm": {**helm, "version": entry.version}}}


def chart_defaults(tgz: bytes) -> dict[str, Any]:
    """`<chart>/values.yaml` of a (verified) chart archive; {} when absent or unreadable."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "values.yaml" and member.isreg():
                    if member.size > MAX_VALUES_BYTES:
                        return {}
                    handle = tar.extractfile(member)
                    values = k8syaml.load(handle.read() if handle else b"")
                    return values if isinstance(values, dict) else {}
    except (tarfile.TarError, OSError, EOFError, k8syaml.YamlError):
        return {}
    return {}
