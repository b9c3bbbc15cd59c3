"""What a bundle's rendered charts would do to a cluster, for `bundle inspect`.

Pure: rendered objects and the bundle's images in; out the cluster-scoped objects (kind, name,
and a ClusterRole's rules), the Helm test hooks with their images, and a warning for every hook
image the bundle does not carry (an air-gapped `helm test` could not pull it). Also which
Application specs deploy a chart (each gives one rendering its values). The rendering
itself is `bundle.chartscan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bundle.manifest import ChartEntry, ImageEntry
from facts.objects import BUILTIN_CLUSTER_SCOPED_KINDS
from refs.relocation import parse_reference

HOOK = "helm.sh/hook"
CLUSTER_SCOPED_KINDS = BUILTIN_CLUSTER_SCOPED_KINDS


def chart_facts(
    objects: Sequence[Mapping[str, Any]], images: Iterable[ImageEntry]
) -> dict[str, Any]:
    """Cluster-scoped objects, test hooks and warnings of one rendered chart."""
    carried = carried_keys(images)
    cluster = [_cluster_entry(o) for o in objects if o.get("kind") in CLUSTER_SCOPED_KINDS]
    hooks = [_hook_entry(o) for o in objects if is_test_hook(o)]
    warnings = [
        f"test hook {h['kind']}/{h['name']} uses image {image}, which is not in the bundle"
        for h in hooks
        for image in h["images"]
        if not is_carried(image, carried)
    ]
    return {"cluster_scoped": cluster, "test_hooks": hooks, "warnings": warnings}


def is_test_hook(obj: Mapping[str, Any]) -> bool:
    """Whether `obj` is a Helm test hook (`helm.sh/hook` lists `test`, or Helm 2's names)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    kinds = {k.strip() for k in str(annotations.get(HOOK) or "").split(",")}
    return bool(kinds & {"test", "test-success", "test-failure"})


def pod_images(obj: Mapping[str, Any]) -> list[str]:
    """The container images of a Pod, or of a workload's pod template, in order."""
    spec = obj.get("spec") or {}
    if obj.get("kind") != "Pod":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template") or {}
        spec = spec.get("spec") or {}
    found: list[str] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or ():
            image = str((container or {}).get("image") or "")
            if image and image not in found:
                found.append(image)
    return found


def carried_keys(images: Iterable[ImageEntry]) -> frozenset[str]:
    """Lookup keys of the bundle's images: by tag as built, and by digest."""
    keys: set[str] = set()
    for entry in images:
        ref = parse_reference(entry.source)
        if ref is not None:
            keys |= {ref.key(), f"{ref.name}@{entry.digest}"}
    return frozenset(keys)


def is_carried(image: str, carried: frozenset[str]) -> bool:
    """Whether the reference `image` names one of the bundle's images."""
    ref = parse_reference(image)
    return ref is not None and ref.key() in carried


def apps_for_chart(chart: ChartEntry, apps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The Applications whose `spec.helm.chart` is this bundle chart, in bundle order."""
    return [app for app in apps if _deploys(chart, (app.get("spec") or {}).get("helm") or {})]


def _deploys(chart: ChartEntry, helm: Mapping[str, Any]) -> bool:
    ref, version = str(helm.get("chart") or "").strip("/"), str(helm.get("version") or "")
    return ref == chart.path or (ref == f"charts/{chart.name}" and version in ("", chart.version))


def _cluster_entry(obj: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": obj["kind"], "name": _name(obj)}
    if obj["kind"] == "ClusterRole":
        entry["rules"] = list(obj.get("rules") or ())
    return entry


def _hook_entry(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": str(obj.get("kind") or ""), "name": _name(obj), "images": pod_images(obj)}


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def chart_scan_lines(scan: Mapping[str, Any]) -> list[str]:
    """`bundle inspect`'s text lines for a chart scan; warnings start with `WARNING:`."""
    lines = [f"chart scan: {scan['note']}"] if scan.get("note") else []
    for chart in scan.get("charts") or ():
        # One rendering per Application: the label says whose values it used.
        label = f"chart {chart['name']} {chart['version']} ({chart.get('values', 'not rendered')})"
        if "error" in chart:
            lines.append(f"{label}: not rendered: {chart['error']}")
            continue
        if not chart["cluster_scoped"] and not chart["test_hooks"]:
            lines.append(f"{label}: no cluster-scoped objects, no test hooks")
        for obj in chart["cluster_scoped"]:
            rules = f" rules {obj['rules']}" if "rules" in obj else ""
            lines.append(f"{label}: cluster-scoped {obj['kind']}/{obj['name']}{rules}")
        for hook in chart["test_hooks"]:
            images = ", ".join(hook["images"]) or "no images"
            lines.append(f"{label}: test hook {hook['kind']}/{hook['name']} ({images})")
        lines += [f"WARNING: {label}: {warning}" for warning in chart["warnings"]]
    return lines
