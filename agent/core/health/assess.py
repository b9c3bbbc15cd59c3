"""kstatus-style health of one object, and of an inventory of objects.

Pure: objects as dicts and a clock in, a Health out. The rules follow kstatus
(kubernetes-sigs/cli-utils) in order: deletion → Terminating; stale observedGeneration → InProgress;
Reconciling/Stalled conditions; per-kind rules for built-in workloads; a Ready condition.
Unlike kstatus, a custom resource that publishes none of Ready/Reconciling/Stalled is
Unknown, not Current: its health cannot be told.
Per-kind rules live in `agent.core.health.workloads`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.core.health import workloads
from agent.core.health.state import (
    CURRENT,
    SEVERITY,
    Health,
    HealthState,
    condition,
    is_builtin,
    is_true,
)
from agent.core.objects import ObjectRef


def assess(obj: Mapping[str, Any], now: datetime) -> Health:
    """The health of one live object."""
    generic = _generic(obj)
    if generic is not None:
        return generic
    kind = obj.get("kind", "")
    if is_builtin(obj.get("apiVersion", "")):
        rule = workloads.RULES.get(kind)
        return rule(obj, now) if rule else CURRENT
    return _custom(obj)


def _generic(obj: Mapping[str, Any]) -> Health | None:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return Health(HealthState.TERMINATING, "being deleted")
    observed = status.get("observedGeneration")
    if observed is not None and meta.get("generation") not in (None, observed):
        return Health(HealthState.IN_PROGRESS, "the controller has not observed the latest spec")
    if is_true(obj, "Stalled"):
        return Health(HealthState.FAILED, _message(obj, "Stalled"))
    if is_true(obj, "Reconciling"):
        return Health(HealthState.IN_PROGRESS, _message(obj, "Reconciling"))
    return None


def _custom(obj: Mapping[str, Any]) -> Health:
    ready = condition(obj, "Ready")
    if ready is None:
        return Health(HealthState.UNKNOWN, "publishes no Ready, Reconciling or Stalled condition")
    if ready.get("status") == "True":
        return CURRENT
    return Health(HealthState.IN_PROGRESS, _message(obj, "Ready") or "not Ready yet")


def _message(obj: Mapping[str, Any], type_: str) -> str:
    found = condition(obj, type_) or {}
    return str(found.get("message") or found.get("reason") or type_)


@dataclass(frozen=True)
class HealthSummary:
    """Health of an inventory: counts per state, the worst state, and who is worst."""

    state: HealthState
    counts: dict[str, int]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The summary as an Application's `status.health`."""
        return {"state": str(self.state), "counts": dict(self.counts)}


def summarize(items: Sequence[tuple[ObjectRef, Health]], limit: int = 3) -> HealthSummary:
    """Aggregate health; the message names up to `limit` objects in the worst state."""
    counts = {str(state): 0 for state in HealthState}
    for _, health in items:
        counts[str(health.state)] += 1
    worst = next((s for s in SEVERITY if counts[str(s)]), HealthState.CURRENT)
    if worst is HealthState.CURRENT:
        return HealthSummary(worst, counts, f"all {len(items)} objects are Current")
    named = [
        f"{ref} ({h.message})" if h.message else str(ref) for ref, h in items if h.state is worst
    ]
    shown = "; ".join(named[:limit]) + ("; …" if len(named) > limit else "")
    message = f"{len(named)} of {len(items)} objects are {worst}: {shown}"
    return HealthSummary(worst, counts, message)
