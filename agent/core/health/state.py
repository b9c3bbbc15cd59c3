"""The vocabulary of health: the five states, a Health value, and condition lookups.

Pure. Shared by the generic rules (`assess`) and the per-kind rules (`workloads`), which is why it
stands apart from both: neither has to import the other's module to speak of a Health.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class HealthState(StrEnum):
    """The five kstatus-like states (Outpost adds Unknown for status-less custom resources)."""

    CURRENT = "Current"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    UNKNOWN = "Unknown"


# Worst first: the aggregate state is the worst state present.
SEVERITY = (
    HealthState.FAILED,
    HealthState.IN_PROGRESS,
    HealthState.TERMINATING,
    HealthState.UNKNOWN,
    HealthState.CURRENT,
)


@dataclass(frozen=True)
class Health:
    """The health of one object with a short reason a human can act on."""

    state: HealthState
    message: str = ""


CURRENT = Health(HealthState.CURRENT)


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    """The status condition of `type_` on a raw object, if any."""
    for item in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(item, Mapping) and item.get("type") == type_:
            return item
    return None


def is_true(obj: Mapping[str, Any], type_: str) -> bool:
    """Whether the condition `type_` is present with status 'True'."""
    found = condition(obj, type_)
    return found is not None and found.get("status") == "True"


def is_builtin(api_version: str) -> bool:
    """Whether the API group is Kubernetes' own (core, apps, batch, *.k8s.io)."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")
