"""The Decision a pure `decide_*` function returns, and the status bookkeeping every kind shares.

Pure: no I/O. The runtime acts on a Decision in order: apply (server-side, skipping nothing:
`apply` already holds only out-of-sync objects), prune, run `helm`, write `status` (None when the
live status already says the same), emit `events`, and requeue after `requeue_after` seconds.
If acting fails, the runtime writes `failure_status(...)` instead of `status`.

Suspend: nothing is applied or pruned; Ready keeps its last status (the last observation is still
the best knowledge) with reason Suspended, and Reconciling/Stalled are removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agent import api
from agent.core.conditions import (
    Condition,
    Outcome,
    conclude,
    equivalent,
    find,
    from_status,
    to_status,
)
from agent.core.objects import Obj, ObjectRef

REQUEUE_PROGRESSING = 10.0
REQUEUE_UNKNOWN = 60.0


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to emit on the object for a significant transition."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class HelmAction:
    """Install or upgrade one release.

    The runtime passes `--description applications.describe_revision(revision)` to helm and
    reads it back from `helm history -o json` into `HelmRelease.outpost_revision` (via
    `applications.revision_of`). If the action fails, it records the attempt with
    `failure_status(..., fields={"lastAttemptedRevision": revision})` so a failing revision
    stalls instead of being retried on every visit.
    """

    release: str
    namespace: str
    chart: str
    version: str
    repo_url: str
    location: str
    values: Mapping[str, Any]
    revision: str
    images: Mapping[str, str] = field(default_factory=dict)
    """Bundle image → relocated reference, applied to the rendered manifests (post-renderer)."""


@dataclass(frozen=True)
class Decision:
    """Everything one visit wants done; empty fields mean nothing to do."""

    apply: tuple[Obj, ...] = ()
    repair: tuple[Obj, ...] = ()
    """Objects of a Helm release to apply back as Helm (`agent.core.application.drift`)."""
    prune: tuple[ObjectRef, ...] = ()
    helm: HelmAction | None = None
    uninstall: str = ""
    """Helm release to uninstall (deletion), in `uninstall_namespace`."""
    uninstall_namespace: str = ""
    status: Obj | None = None
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None
    release_finalizer: bool = False
    conditions: tuple[Condition, ...] = field(default=())

    @property
    def writes(self) -> int:
        """How many writes acting on this decision costs (0 when all is in sync)."""
        changes = len(self.apply) + len(self.repair) + len(self.prune) + (self.status is not None)
        return changes + bool(self.helm) + bool(self.uninstall)


def generation_of(obj: Mapping[str, Any]) -> int:
    """`metadata.generation`, 0 when absent."""
    return int((obj.get("metadata") or {}).get("generation") or 0)


def conclude_status(
    obj: Mapping[str, Any], outcome: Outcome, fields: Mapping[str, Any], now: datetime
) -> tuple[Obj, tuple[Condition, ...]]:
    """The full new status: kind-specific `fields`, conditions, and `observedGeneration`."""
    live = obj.get("status") or {}
    generation = generation_of(obj)
    conditions = conclude(from_status(live.get("conditions")), outcome, generation, now)
    status = {**fields, "conditions": to_status(conditions), "observedGeneration": generation}
    return status, conditions


def status_differs(new: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """Whether `new` says something `live` does not (conditions ignore lastTransitionTime)."""
    live = live or {}
    for key, value in new.items():
        if key == "conditions":
            if not equivalent(value, live.get("conditions") or []):
                return True
        elif live.get(key) != value:
            return True
    return False


def transition_events(before: Sequence[Condition], after: Sequence[Condition]) -> tuple[Event, ...]:
    """One event when Ready changes status or reason; Warning unless it became True."""
    old, new = find(before, api.ConditionType.READY), find(after, api.ConditionType.READY)
    if new is None or (old and (old.status, old.reason) == (new.status, new.reason)):
        return ()
    kind: Literal["Normal", "Warning"] = "Normal" if new.status == "True" else "Warning"
    if new.reason in (api.Reason.SUSPENDED, api.Reason.PROGRESSING, api.Reason.INITIALIZING):
        kind = "Normal"
    return (Event(kind, new.reason, new.message),)


def suspended_outcome(obj: Mapping[str, Any]) -> Outcome:
    """Ready keeps its last status with reason Suspended (Unknown if there was none)."""
    ready = find(from_status((obj.get("status") or {}).get("conditions")), "Ready")
    last = f" Last observed: {ready.message}" if ready and ready.message else ""
    message = f"Reconciliation is suspended by `spec.suspend`; set it to false to resume.{last}"
    return Outcome(ready.status if ready else "Unknown", api.Reason.SUSPENDED, message)


def requeue_for(outcome: Outcome) -> float | None:
    """Come back soon while progressing, later while health is unknown, else on resync only."""
    if outcome.reconciling:
        return REQUEUE_PROGRESSING
    if outcome.status == "Unknown":
        return REQUEUE_UNKNOWN
    return None


def finish(
    obj: Mapping[str, Any], outcome: Outcome, fields: Mapping[str, Any], now: datetime, **acts: Any
) -> Decision:
    """A Decision carrying `acts` plus the status, events and requeue that `outcome` implies."""
    before = from_status((obj.get("status") or {}).get("conditions"))
    status, conditions = conclude_status(obj, outcome, fields, now)
    changed = status_differs(status, obj.get("status"))
    return Decision(
        status=status if changed else None,
        events=transition_events(before, conditions),
        requeue_after=requeue_for(outcome),
        conditions=conditions,
        **acts,
    )


def failure_status(
    obj: Mapping[str, Any],
    reason: str,
    message: str,
    now: datetime,
    *,
    stalled: bool = False,
    fields: Mapping[str, Any] | None = None,
) -> Decision:
    """The Decision to record when acting failed: Ready=False, Stalled or Reconciling (retry).

    The live kind-specific status fields are kept; `fields` overrides some of them (after a
    failed Helm action pass `{"lastAttemptedRevision": action.revision}`).
    """
    outcome = Outcome("False", reason, message, reconciling=not stalled, stalled=stalled)
    live = {k: v for k, v in (obj.get("status") or {}).items() if k not in _OWN_FIELDS}
    return finish(obj, outcome, {**live, **(fields or {})}, now)


_OWN_FIELDS = frozenset({"conditions", "observedGeneration"})
