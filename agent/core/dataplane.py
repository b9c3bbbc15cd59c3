"""Pure decision for the DataPlane: observed facts of the cluster in status, Ready as a summary.

The DataPlane is Ready when every Tenant and Application is Ready; its status also carries the
Kubernetes version, node capacity and the bundle in force (by `agent.core.bundle`'s one rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent import api
from agent.core.bundle import installed_bundle
from agent.core.conditions import Outcome
from agent.core.decision import Decision, finish
from agent.core.health.state import is_true
from agent.core.objects import Obj, add_quantities


@dataclass(frozen=True)
class DataPlaneObservation:
    """What the runtime saw cluster-wide for the DataPlane's status."""

    dataplane: Obj
    kubernetes_version: str = ""
    nodes: Sequence[Mapping[str, Any]] = ()
    tenants: Sequence[Mapping[str, Any]] = ()
    applications: Sequence[Mapping[str, Any]] = ()
    bundles: Sequence[Mapping[str, Any]] = ()


def decide_dataplane(obs: DataPlaneObservation, now: datetime) -> Decision:
    """Observed facts in status; Ready when every Tenant and Application is Ready."""
    tenants, apps = _readiness(obs.tenants), _readiness(obs.applications)
    fields = {
        "kubernetesVersion": obs.kubernetes_version,
        "nodes": node_summary(obs.nodes),
        "tenants": tenants,
        "applications": apps,
    }
    installed = installed_bundle(obs.bundles)
    if installed:
        fields["bundle"] = installed
    waiting = [o["metadata"]["name"] for o in (*obs.tenants, *obs.applications) if not _ready(o)]
    if waiting:
        shown = ", ".join(f"'{n}'" for n in waiting[:5])
        message = f"{len(waiting)} Tenants or Applications are not Ready: {shown}."
        outcome = Outcome("False", api.Reason.DEPENDENCY_NOT_READY, message)
    else:
        message = f"{tenants['total']} tenants and {apps['total']} applications are Ready."
        outcome = Outcome("True", api.Reason.RECONCILED, message)
    return finish(obs.dataplane, outcome, fields, now)


def node_summary(nodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Node count and summed allocatable cpu, memory and pods."""
    allocatable = [(n.get("status") or {}).get("allocatable") or {} for n in nodes]
    totals = {key: add_quantities([str(a.get(key, 0)) for a in allocatable]) for key in _RESOURCES}
    return {"count": len(nodes), "allocatable": totals}


_RESOURCES = ("cpu", "memory", "pods")


def _ready(obj: Mapping[str, Any]) -> bool:
    return is_true(obj, api.ConditionType.READY)


def _readiness(objs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {"total": len(objs), "ready": sum(1 for o in objs if _ready(o))}
