"""Status conditions: the Condition value, transitions, and the condition set one visit concludes.

Pure: data and a clock in, values out. Rules (style.md section 7):
- `lastTransitionTime` changes only when `status` flips (`set_condition`).
- `Ready` is present after the first visit; `Reconciling`, `Stalled` only while true (`conclude`).
- each condition carries the generation it was computed for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from agent.api import ConditionType, Reason
from facts import rfc3339
from facts.rfc3339 import format_time

Status = Literal["True", "False", "Unknown"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Condition:
    """One entry of `status.conditions`."""

    type: str
    status: Status
    reason: str
    message: str
    observed_generation: int
    last_transition_time: datetime

    def to_dict(self) -> dict[str, Any]:
        """The condition as Kubernetes writes it."""
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": self.observed_generation,
            "lastTransitionTime": format_time(self.last_transition_time),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Condition:
        """A condition read from an object's status (an unknown status reads as Unknown)."""
        status = raw.get("status")
        return cls(
            type=str(raw.get("type", "")),
            status=status if status in ("True", "False") else "Unknown",
            reason=str(raw.get("reason") or Reason.INITIALIZING),
            message=str(raw.get("message") or ""),
            observed_generation=int(raw.get("observedGeneration") or 0),
            last_transition_time=parse_time(raw.get("lastTransitionTime")),
        )


@dataclass(frozen=True)
class Verdict:
    """What a visit concluded about one condition type, before times and generations are added."""

    type: str
    status: Status
    reason: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """What one visit concluded: the Ready summary and whether work goes on or is stuck.

    `reconciling`: retrying (or waiting) will help. `stalled`: only a human can help. Never both.
    `extra`: domain conditions (e.g. Verified, Applied) to set alongside.
    """

    status: Status
    reason: str
    message: str
    reconciling: bool = False
    stalled: bool = False
    extra: tuple[Verdict, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.reconciling and self.stalled:
            raise ValueError("an outcome cannot be both reconciling and stalled")


@dataclass(frozen=True)
class Problem:
    """Something wrong with the meaning of a spec, found by a pure check.

    `stalled`: only a human can fix it (Stalled=True); otherwise waiting helps (Reconciling=True).
    `namespace`: where it applies, "" for the whole object.
    """

    reason: str
    message: str
    stalled: bool = True
    namespace: str = ""

    def outcome(self) -> Outcome:
        """Ready=False with this problem's reason, and Stalled or Reconciling."""
        return Outcome(
            "False", self.reason, self.message, reconciling=not self.stalled, stalled=self.stalled
        )


def parse_time(raw: object) -> datetime:
    """Parse an RFC 3339 time; anything unreadable becomes the epoch (oldest possible)."""
    return rfc3339.parse_time(raw) or EPOCH


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of `type_`, if present."""
    return next((c for c in conditions if c.type == type_), None)


def set_condition(current: Sequence[Condition], new: Condition) -> tuple[Condition, ...]:
    """Replace or add `new`; keep the old transition time when the status did not flip."""
    old = find(current, new.type)
    if old is not None and old.status == new.status:
        new = replace(new, last_transition_time=old.last_transition_time)
    if old is None:
        return (*current, new)
    return tuple(new if c.type == new.type else c for c in current)


def remove_condition(current: Sequence[Condition], type_: str) -> tuple[Condition, ...]:
    """All conditions except the one of `type_`."""
    return tuple(c for c in current if c.type != type_)


def from_status(raw: Sequence[Mapping[str, Any]] | None) -> tuple[Condition, ...]:
    """Conditions from `status.conditions` (entries without a type are dropped)."""
    return tuple(Condition.from_dict(item) for item in raw or () if item.get("type"))


def to_status(conditions: Sequence[Condition]) -> list[dict[str, Any]]:
    """`status.conditions` for a patch, Ready first then alphabetical for stable output."""
    ordered = sorted(conditions, key=lambda c: (c.type != ConditionType.READY, c.type))
    return [c.to_dict() for c in ordered]


def conclude(
    current: Sequence[Condition], outcome: Outcome, generation: int, now: datetime
) -> tuple[Condition, ...]:
    """The full condition set after a visit that reached `outcome` for `generation`."""
    ready = Verdict(ConditionType.READY, outcome.status, outcome.reason, outcome.message)
    result = tuple(current)
    for verdict in (ready, *outcome.extra):
        result = set_condition(result, stamp(verdict, generation, now))
    flags = {ConditionType.RECONCILING: outcome.reconciling, ConditionType.STALLED: outcome.stalled}
    for type_, on in flags.items():
        if not on:
            result = remove_condition(result, type_)
            continue
        abnormal = Verdict(type_, "True", outcome.reason, outcome.message)
        result = set_condition(result, stamp(abnormal, generation, now))
    return result


def stamp(verdict: Verdict, generation: int, now: datetime) -> Condition:
    """A Condition for `verdict`, computed for `generation` at `now`."""
    return Condition(verdict.type, verdict.status, verdict.reason, verdict.message, generation, now)


def equivalent(left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]]) -> bool:
    """Whether two raw condition lists say the same, ignoring order and `lastTransitionTime`."""

    def key(items: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message"),
             c.get("observedGeneration"))
            for c in items
        )  # fmt: skip

    return key(left) == key(right)


def first_visit(generation: int, now: datetime) -> tuple[Condition, ...]:
    """Conditions to write before anything is known: Ready=Unknown, Reconciling=True."""
    message = "The agent has started reconciling this object."
    outcome = Outcome("Unknown", Reason.INITIALIZING, message, reconciling=True)
    return conclude((), outcome, generation, now)
