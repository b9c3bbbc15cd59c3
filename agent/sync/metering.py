"""The metering loop: on the leader, visit the tenants' pods every few seconds and checkpoint.

Orchestration only (the account is `agent.core.usage.ledger`, the cluster I/O
`agent.sync.usage_cluster`). It runs whether or not a hub is configured: an air-gapped site
exports its records with `outpost status export`. A visit that fails is logged and retried at the
next tick; since the account credits from where it last counted, a missed visit loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.errors import AgentError
from agent.sync.usage_cluster import KubeUsage, Visit, visit_once

log = logging.getLogger(__name__)


CHECKPOINT_SECONDS = 60.0
"""The longest a visit's progress goes unwritten: a kill -9 loses at most this much of the pods
that end meanwhile (running pods lose nothing: they are credited from the checkpoint on)."""


def visit_seconds(window_seconds: int) -> float:
    """How often to visit: a dozen times a window, between 1 and 15 seconds apart."""
    return min(15.0, max(1.0, window_seconds / 12))


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Meter:
    """The loop and the last account it wrote (shown on /metrics)."""

    store: KubeUsage
    window_seconds: int
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    visit: Visit | None = field(default=None)
    written: float = field(default_factory=time.monotonic)

    async def run(self) -> None:
        """Visit forever (cancelled when leadership is lost)."""
        pause = visit_seconds(self.window_seconds)
        while True:
            due = time.monotonic() - self.written >= CHECKPOINT_SECONDS
            try:
                self.visit = await visit_once(
                    self.store, self.window_seconds, self.clock(), due, self.visit
                )
            except AgentError as exc:
                log.warning("usage metering visit failed: %s", exc)
            else:
                self.written = time.monotonic() if self.visit.wrote else self.written
            await self.sleep(pause)

    def gauges(self) -> dict[str, float]:
        """Usage accumulated in open windows, per tenant and meter, and records waiting."""
        if self.visit is None:
            return {}
        state = self.visit.state
        out = {"outpost_usage_pending_records": float(len(state.pending))}
        for (tenant, meter), value in sorted(state.accumulating().items()):
            out[f'outpost_usage_open_window{{tenant="{tenant}",meter="{meter}"}}'] = value
        return out
