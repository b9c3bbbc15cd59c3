"""Render a bundle's charts with `helm template` for `bundle inspect` (I/O around `chartfacts`).

I/O: streams the bundle once more, up to the last chart and Application resource (they come
before the images, so an image-heavy bundle is not read to the end), checks each file's sha256
against the (unverified) manifest, writes the chart to a private temporary directory and runs
the helm binary (`$OUTPOST_HELM`, else `helm` on PATH). Values: each Application in the bundle that
deploys the chart gives one rendering, with its values; else the chart's defaults, once. Without a
helm binary, or when a chart does not render, the output says so and inspect still succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import k8syaml
from bundle.chartfacts import apps_for_chart, chart_facts
from bundle.manifest import ChartEntry, Manifest

HELM_TIMEOUT = 120
MAX_FILE = 64 * 1024 * 1024  # charts and resources read into memory; bigger ones are skipped


def find_helm() -> str | None:
    """The helm binary: `$OUTPOST_HELM` when it is set, else `helm` on PATH, else None."""
    named = os.environ.get("OUTPOST_HELM", "")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("helm")


def scan_charts(path: Path, manifest: Manifest, helm: str | None) -> dict[str, Any]:
    """Per chart: how it was rendered, its cluster-scoped objects, test hooks and warnings."""
    if not manifest.charts:
        return {"helm": helm, "charts": []}
    if helm is None:
        note = "no helm binary found (set OUTPOST_HELM or put helm on PATH): charts not rendered"
        return {"helm": None, "note": note, "charts": []}
    try:
        files = read_files(path, manifest)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        # Inspect trusts nothing and reads on: a broken archive is `verify`'s to name.
        note = f"charts not rendered: cannot read the bundle's charts ({exc})"
        return {"helm": helm, "note": note, "charts": []}
    apps = _applications(files, manifest)
    charts = []
    for chart in manifest.charts:
        users: list[Mapping[str, Any] | None] = [*apps_for_chart(chart, apps)]
        for app in users or [None]:  # one rendering per Application, else the defaults once
            charts.append(_scan_one(helm, chart, files, app, manifest))
    return {"helm": helm, "charts": charts}


def read_files(path: Path, manifest: Manifest) -> dict[str, bytes]:
    """The carried chart and resource files whose size and sha256 match the manifest."""
    entries = {f.path: f for f in manifest.carried if f.size <= MAX_FILE}
    wanted = {c.path for c in manifest.charts} | {r.path for r in manifest.resources}
    wanted &= set(entries)
    found: dict[str, bytes] = {}
    with path.open("rb") as f, tarfile.open(fileobj=f, mode="r|") as tar:
        for member in tar:
            if not wanted:
                break  # charts and resources precede the images: the rest is not read
            if member.name not in wanted or not member.isreg():
                continue
            wanted.discard(member.name)
            stream = tar.extractfile(member)
            data = stream.read(MAX_FILE + 1) if stream is not None else b""
            if hashlib.sha256(data).hexdigest() == entries[member.name].sha256:
                found[member.name] = data
    return found


def _applications(files: Mapping[str, bytes], manifest: Manifest) -> list[Mapping[str, Any]]:
    apps: list[Mapping[str, Any]] = []
    for entry in sorted(manifest.resources, key=lambda r: (r.order, r.path)):
        try:
            docs = k8syaml.load_all(files.get(entry.path, b""))
        except k8syaml.YamlError:
            continue  # inspect shows what it can; `verify` and the agent judge the resources
        apps += [d for d in docs if isinstance(d, dict) and d.get("kind") == "Application"]
    return apps


def _scan_one(
    helm: str,
    chart: ChartEntry,
    files: Mapping[str, bytes],
    app: Mapping[str, Any] | None,
    manifest: Manifest,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": chart.name, "version": chart.version, "path": chart.path}
    if chart.path not in files:
        return out | {"error": "chart file not carried by this bundle (or does not match)"}
    spec = (app.get("spec") or {}) if app else {}
    values = ((spec.get("helm") or {}).get("values")) or {}
    app_name = str(((app or {}).get("metadata") or {}).get("name") or "")
    out["values"] = f"Application '{app_name}'" if app else "chart defaults"
    release = str((spec.get("helm") or {}).get("releaseName") or app_name or chart.name)
    namespace = str(spec.get("namespace") or "default")
    try:
        objects = render(helm, files[chart.path], release, namespace, values)
    except RenderError as exc:
        return out | {"error": str(exc)}
    return out | chart_facts(objects, manifest.images)


class RenderError(Exception):
    """`helm template` could not render a chart (its first lines of stderr)."""


def render(
    helm: str, chart: bytes, release: str, namespace: str, values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """`helm template` of a chart archive with `values` (CRDs included, hooks and tests too).

    Raises:
        RenderError: helm failed, timed out, or printed something that is not YAML.
    """
    with tempfile.TemporaryDirectory(prefix="outpost-inspect-") as tmp:
        archive, values_file = Path(tmp, "chart.tgz"), Path(tmp, "values.json")
        archive.write_bytes(chart)
        values_file.write_text(json.dumps(values))  # JSON is YAML: helm reads it as values
        args = [helm, "template", release, str(archive), "-n", namespace]
        args += ["-f", str(values_file), "--include-crds"]
        env = os.environ | {"HELM_CONFIG_HOME": tmp, "HELM_CACHE_HOME": tmp, "HELM_DATA_HOME": tmp}
        try:
            done = subprocess.run(
                args, capture_output=True, env=env, timeout=HELM_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderError(f"helm template did not run: {exc}") from exc
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()[:3]
        raise RenderError("helm template failed: " + " | ".join(said))
    try:
        docs = k8syaml.load_all(done.stdout)
    except k8syaml.YamlError as exc:
        raise RenderError(f"helm template printed invalid YAML: {exc}") from exc
    return [d for d in docs if isinstance(d, dict)]
