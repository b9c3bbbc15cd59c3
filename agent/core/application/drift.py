"""Drift of a Helm release's objects: what to put back, and what to leave to the cluster.

Pure: the objects parsed from the release's manifest (what Helm last installed), the live objects
and the release's name and namespace in; the objects to re-apply out.

Choice (issue 11): drift is repaired by a server-side apply of the release's rendered objects,
under Helm's own field manager (`helm`, the manager Helm 4 applies with), not by a Helm upgrade.
An upgrade re-renders and re-installs the whole chart, takes seconds, writes a new release
revision per repair and runs hooks again; the apply touches only the objects that drifted, keeps
the release history as it is, and, being made as `helm`, leaves the field ownership exactly as
Helm's next upgrade expects it (no conflicts, no fields taken from Helm). The release's ownership
metadata (`meta.helm.sh/*` annotations, `managed-by: Helm`) is added, as Helm adds it, so a
re-created object still belongs to the release.

Left to the cluster: `spec.replicas` of a workload an HPA of the release scales (the chart set
an initial count; the HPA owns it afterwards). Objects a chart marks
`helm.sh/resource-policy: keep` are repaired like the others while the release exists; they
are only left alone when the release is uninstalled (see `kept`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent.core.objects import Obj, ObjectRef, out_of_sync, ref_of

HELM_MANAGER = "helm"
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
MANAGED_BY = "app.kubernetes.io/managed-by"
RESOURCE_POLICY = "helm.sh/resource-policy"
SCALERS = ("HorizontalPodAutoscaler",)


def drifted(
    objects: Sequence[Obj], live: Mapping[ObjectRef, Obj], release: str, namespace: str
) -> list[Obj]:
    """The release's objects that are missing or differ live, ready to apply as Helm."""
    return out_of_sync(desired_objects(objects, release, namespace), live)


def desired_objects(objects: Sequence[Obj], release: str, namespace: str) -> list[Obj]:
    """The release's objects as Helm made them, minus the fields left to the cluster."""
    scaled = set(_scaled(objects))
    out = []
    for obj in objects:
        body = copy.deepcopy(dict(obj))
        meta = body.setdefault("metadata", {})
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            RELEASE_NAME: release,
            RELEASE_NAMESPACE: namespace,
        }
        meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY: "Helm"}
        if ref_of(body) in scaled:
            (body.get("spec") or {}).pop("replicas", None)
        out.append(body)
    return out


def _scaled(objects: Iterable[Obj]) -> Iterable[ObjectRef]:
    """The workloads an autoscaler of the release targets."""
    for obj in objects:
        if obj.get("kind") not in SCALERS:
            continue
        target: Mapping[str, Any] = (obj.get("spec") or {}).get("scaleTargetRef") or {}
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        api_version, kind = str(target.get("apiVersion") or ""), str(target.get("kind") or "")
        yield ObjectRef(api_version, kind, namespace, str(target.get("name") or ""))


def kept(obj: Mapping[str, Any]) -> bool:
    """Whether Helm leaves this object behind when the release is uninstalled."""
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    return str(notes.get(RESOURCE_POLICY, "")).strip() == "keep"
