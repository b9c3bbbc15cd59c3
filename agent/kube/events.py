"""Kubernetes Events for significant transitions: Ready flips, Stalled, prunes, Helm failures.

`transitions()` is pure (old and new `status.conditions` in, the events worth telling out);
`emit()` does the I/O through agent.kube.client and never fails a reconcile: an Event that cannot be
written is logged and dropped. Nothing is emitted when nothing changed, so an in-sync restart
writes no Events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent.errors import KubeError
from facts import rfc3339

log = logging.getLogger(__name__)
NORMAL, WARNING = "Normal", "Warning"


@dataclass(frozen=True)
class Notice:
    """One Event to write about an object."""

    type: str
    reason: str
    message: str


class EventApi(Protocol):
    async def create_event(
        self, involved: dict[str, Any], event_type: str, reason: str, message: str, now: str
    ) -> None:
        """Record an Event on `involved`."""


def _by_type(conditions: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("type")): c for c in conditions}


def transitions(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[Notice]:
    """Events for a Ready flip or a newly Stalled object (reason changes alone are not news)."""
    before, after = _by_type(old), _by_type(new)
    notices: list[Notice] = []
    ready, was = after.get("Ready"), before.get("Ready")
    if ready and (was is None or was.get("status") != ready.get("status")):
        kind = NORMAL if ready.get("status") == "True" else WARNING
        if not (was is None and ready.get("status") == "Unknown"):
            notices.append(Notice(kind, str(ready.get("reason")), str(ready.get("message"))))
    stalled = after.get("Stalled")
    if (
        stalled
        and stalled.get("status") == "True"
        and (before.get("Stalled") or {}).get("status") != "True"
    ):
        notices.append(Notice(WARNING, str(stalled.get("reason")), str(stalled.get("message"))))
    return notices


async def emit(
    kube: EventApi, obj: dict[str, Any], notices: Sequence[Notice], now: datetime
) -> None:
    """Write each notice as an Event on `obj`; failures are logged, never raised."""
    stamp = rfc3339.format_time(now)
    for notice in notices:
        try:
            await kube.create_event(obj, notice.type, notice.reason, notice.message, stamp)
        except KubeError as exc:
            log.warning(
                "could not record event %s on %s: %s", notice.reason, obj["metadata"]["name"], exc
            )
