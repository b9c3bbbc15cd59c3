"""One sync cycle over the store and gather seams: report, spool, enroll, deliver.

Orchestration only; the decisions live in `report` and `policy`, the I/O behind `KeyStore`,
`StateStore`, `SpoolStore` and `HubClient`. State is saved before the spool so that a crash
between the two costs a gap in the chain (which the hub flags), never a reused `seq`.
The only writes here are the agent's own key, state and spool.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agent.errors import AgentError
from agent.sync import outbox, report
from agent.sync.client import Delivery, HubClient
from agent.sync.errors import SyncError
from agent.sync.outbox import OutboxStore
from agent.sync.policy import SpoolLimits, enqueue
from agent.sync.snapshot import ClusterSnapshot
from agent.sync.state import (
    KeyStore,
    SpoolStore,
    StateStore,
    SyncState,
    ensure_identity,
    new_key,
)
from agent.sync.usage_records import UsageStore, records_in
from wire import enrollment

PENDING_AGENT_ID = "agt_pending"
log = logging.getLogger(__name__)


class Stores(KeyStore, StateStore, SpoolStore, OutboxStore, Protocol):
    """The agent's persisted sync data (the Kubernetes Secret + ConfigMap, or memory)."""


def new_nonce() -> str:
    """A random nonce for one signed document."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


@dataclass(frozen=True)
class Cycle:
    stores: Stores
    options: report.ReportOptions = field(default_factory=report.ReportOptions)
    limits: SpoolLimits = field(default_factory=SpoolLimits)
    usage: UsageStore | None = None
    retention: timedelta = outbox.DEFAULT_RETENTION

    async def preview(self, snapshot: ClusterSnapshot, now: datetime, nonce: str) -> bytes:
        """The payload the next report would carry; writes nothing, does not advance `seq`."""
        key, state = await self.stores.load_key(), await self.stores.load_state()
        if key is None or state is None:
            # No key yet: the agent generates it on first start, and with it the agent id.
            state = SyncState(agent_id=PENDING_AGENT_ID)
        payload, _ = report.build_report(snapshot, state, now, nonce, self.options)
        return payload

    async def produce(self, snapshot: ClusterSnapshot, now: datetime, nonce: str) -> bytes:
        """Build, sign, persist and spool the next report; returns its envelope bytes."""
        key, state = await ensure_identity(self.stores, self.stores)
        payload, state = report.build_report(snapshot, state, now, nonce, self.options)
        envelope = report.sign_report(payload, key)
        before = await self.stores.load_spool()
        spool, dropped = enqueue(before, envelope, self.limits)
        gone = [e for e in before if e not in spool]
        await self.keep([outbox.describe(e, "dropped", now, keep=False) for e in gone], now)
        await self.stores.save_state(state.count_dropped(dropped))
        await self.stores.save_spool(spool)
        if self.usage is not None:
            # Spooled: the records now travel with the report. A report the spool had to drop
            # gives its records back, so the next report carries them (the hub deduplicates).
            await self.usage.acknowledge(snapshot.usage)
            await self.usage.restore(records_in(e for e in before if e not in spool))
        return envelope

    async def export(self, snapshot: ClusterSnapshot, now: datetime, nonce: str) -> bytes:
        """JSON lines for hand carrying: the enrollment, every spooled report, and a fresh one."""
        await self.produce(snapshot, now, nonce)
        key, state = await ensure_identity(self.stores, self.stores)
        lines = list(await self.stores.load_spool())
        if not state.enrolled:
            # Lets an air-gapped site enroll by upload (the hub then wants the token too).
            enroll = enrollment.sign_enrollment(key, snapshot.cluster_uid, new_nonce(), now)
            lines.insert(0, report.compact(enroll))
        return b"".join(line + b"\n" for line in lines)

    async def enroll(self, client: HubClient, token: str, cluster_uid: str, now: datetime) -> bool:
        """Enroll once; True when the hub's signed ack confirms it (already enrolled → True)."""
        key, state = await ensure_identity(self.stores, self.stores)
        if state.enrolled:
            return True
        envelope = enrollment.sign_enrollment(key, cluster_uid, new_nonce(), now)
        await client.enroll(token, report.compact(envelope), state.agent_id)
        await self.stores.save_state(replace(state, enrolled=True))
        return True

    async def rotate(self, client: HubClient, now: datetime) -> None:
        """Move to a fresh key: the old key authorizes, the new one proves possession.

        The new key is stored only after the hub's signed ack; if the ack is lost the agent keeps
        the old key, which the hub still accepts for its grace period, and can rotate again.
        """
        key, state = await ensure_identity(self.stores, self.stores)
        fresh = new_key()
        envelope = enrollment.sign_rotation(state.agent_id, key, fresh, new_nonce(), now)
        await client.rotate(state.agent_id, report.compact(envelope))
        await self.stores.save_key(fresh)

    async def sync_once(
        self, client: HubClient, snapshot: ClusterSnapshot, now: datetime, token: str | None
    ) -> Delivery:
        """One timer tick: enroll if needed and possible, spool a fresh report, deliver.

        Until enrolled, reports are only spooled: the hub would refuse (and the agent drop) them.
        """
        _, state = await ensure_identity(self.stores, self.stores)
        enrolled, error = state.enrolled, "not enrolled: no enrollment token configured"
        if not enrolled and token:
            try:
                enrolled = await self.enroll(client, token, snapshot.cluster_uid, now)
            except SyncError as exc:
                error = f"enrollment failed: {exc}"
        await self.produce(snapshot, now, new_nonce())
        if not enrolled:
            return Delivery(await self.stores.load_spool(), 0, 0, error)
        return await self.deliver(client)

    async def deliver(self, client: HubClient) -> Delivery:
        """Send the spool in order; keep what failed, count what the hub refused for good."""
        _, state = await ensure_identity(self.stores, self.stores)
        spool = await self.stores.load_spool()
        result = await client.deliver(state.agent_id, spool)
        if result.rejected:
            await self.stores.save_state(state.count_rejected(result.rejected))
        if result.remaining != spool:
            now = datetime.now(UTC)
            await self.keep(
                [outbox.describe(e, "sent", now) for e in result.sent]
                + [outbox.describe(e, "rejected", now) for e in result.refused],
                now,
            )
            await self.stores.save_spool(result.remaining)
        return result

    async def keep(self, entries: list[outbox.Entry], now: datetime) -> None:
        """Record entries in the outbox (before they leave the spool, so none is lost).

        The outbox is for review: when it cannot be written (say, an older chart without the
        right), delivery goes on and the failure is logged rather than resending forever.
        """
        if not entries:
            return
        try:
            kept = outbox.record(await self.stores.load_outbox(), entries, now, self.retention)
            await self.stores.save_outbox(kept)
        except AgentError as exc:
            log.warning("cannot record %d report(s) in the outbox: %s", len(entries), exc)
