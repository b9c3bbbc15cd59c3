"""Health-gated upgrades: when a Bundle that replaced another must give way to it again.

Pure: the Bundle, when it was applied, what is not Ready yet, and `now` in; a yes/no and the
Outcome to report out. An upgraded Bundle whose Tenants and Applications are not all Ready
within `spec.upgrade.healthTimeout` (default 10 minutes) is rolled back: the Bundle it replaced
is in force again. A rolled-back Bundle is tried again only with the retry annotation (or as a
new sequence, which is a new Bundle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from agent import api
from agent.core.conditions import Outcome, Verdict

ROLLED_BACK_AT = "outpost.dev/rolled-back-at"
"""On a Bundle the agent rolled back: when. While it is there the Bundle applies nothing."""
RETRY = "outpost.dev/retry"
"""Set by a person on a rolled-back Bundle to try it once more."""
PREVIOUS = "outpost.dev/previous-bundle"
"""On an upgraded Bundle: the Bundle it replaced, the one a rollback puts back in force."""
DEFAULT_TIMEOUT = timedelta(minutes=10)
_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}


def health_timeout(bundle: Mapping[str, Any]) -> timedelta:
    """`spec.upgrade.healthTimeout` ('20s', '10m', '1h'); the default when unset or unreadable."""
    text = str(((bundle.get("spec") or {}).get("upgrade") or {}).get("healthTimeout") or "")
    match = _DURATION.match(text.strip())
    if not match:
        return DEFAULT_TIMEOUT
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def notes_of(bundle: Mapping[str, Any]) -> Mapping[str, str]:
    """The Bundle's annotations."""
    return (bundle.get("metadata") or {}).get("annotations") or {}


def rollback_due(
    bundle: Mapping[str, Any], applied_at: datetime, unhealthy: Sequence[str], now: datetime
) -> bool:
    """Whether an upgraded Bundle's objects missed its health deadline."""
    upgraded = bool(notes_of(bundle).get(PREVIOUS))
    return upgraded and bool(unhealthy) and now >= applied_at + health_timeout(bundle)


def rolled_back(unhealthy: Sequence[str], previous: str, timeout: timedelta) -> Outcome:
    """Ready=False, RolledBack, naming what was not Ready and the Bundle back in force."""
    shown = ", ".join(unhealthy[:10]) + (" …" if len(unhealthy) > 10 else "")
    message = (
        f"Not all Tenants and Applications were Ready within {int(timeout.total_seconds())}s:"
        f" {shown}. Bundle '{previous}' is in force again (namespaces and PersistentVolumeClaims"
        f" are never deleted). To try this bundle again, annotate it {RETRY}=true, or publish a"
        " new sequence."
    )
    applied = Verdict(api.ConditionType.APPLIED, "False", api.Reason.ROLLED_BACK, message)
    return Outcome("False", api.Reason.ROLLED_BACK, message, stalled=True, extra=(applied,))
