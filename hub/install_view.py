"""One install's history for its analytics page: health over time, bundle versions over time,
usage per tenant per day, and the gaps in its usage chain.

Reads the `HubStore` (report history) and the usage ledger. Payloads are agent-supplied: values
are read through `hub.fleet`'s type-checked accessors, as the fleet page reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hub import fleet, support_store
from hub.errors import Rejection
from hub.ledger import Gap, gaps
from hub.sqlstore import SqlStore
from hub.store import AgentRecord, HubStore
from hub.support_store import SupportBundleRecord
from hub.usage_store import UsageLedger

HISTORY = 500
"""Reports read for the timeline (newest first, then shown oldest first)."""
USAGE_DAYS = 14
KINDS = ("dataplanes", "tenants", "applications")


@dataclass(frozen=True)
class InstallView:
    agent: AgentRecord
    health: dict[str, list[tuple[datetime, float]]]
    """Per kind, the share of objects Ready (0–100 %) at each report."""
    bundles: list[tuple[datetime, str]]
    """(first report showing it, version) for each change of the applied bundle."""
    days: list[date]
    usage: dict[tuple[date, str], float]
    """(day, tenant) → CPU core-hours requested."""
    gaps: list[Gap]
    chain_gaps: int
    latest: Mapping[str, object] = field(default_factory=dict)
    """The latest report's payload (tenants, applications, licence, consent)."""
    support_bundles: list[SupportBundleRecord] = field(default_factory=list)


def health_and_bundles(
    store: HubStore, agent_id: str
) -> tuple[dict[str, list[tuple[datetime, float]]], list[tuple[datetime, str]], int]:
    """Ready share over time per kind, and bundle versions over time, from the reports."""
    reports = list(reversed(store.reports(agent_id, HISTORY, None)))
    health: dict[str, list[tuple[datetime, float]]] = {kind: [] for kind in KINDS}
    bundles: list[tuple[datetime, str]] = []
    for report in reports:
        doc = fleet.payload_doc(report)
        for kind in KINDS:
            ready, total = (
                fleet.count(doc, "summary", kind, "ready"),
                fleet.count(doc, "summary", kind, "total"),
            )
            if total:
                health[kind].append((report.issued_at, 100.0 * min(ready, total) / total))
        version = fleet.text(doc, "bundle", "version") or "none"
        if not bundles or bundles[-1][1] != version:
            bundles.append((report.issued_at, version))
    return health, bundles, sum(r.chain_gap for r in reports)


def usage_by_day(
    ledger: UsageLedger | None, agent_id: str, now: datetime
) -> tuple[list[date], dict[tuple[date, str], float], list[Gap]]:
    """Usage per tenant per day from the ledger, and its gaps."""
    if ledger is None:
        return [], {}, []
    first = (now - timedelta(days=USAGE_DAYS - 1)).date()
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    rows = ledger.rows(start, now + timedelta(days=1), install_id=agent_id)
    days = [first + timedelta(days=i) for i in range(USAGE_DAYS)]
    usage: dict[tuple[date, str], float] = {}
    for row in rows:
        if row.record.meter == "cpu_core_seconds":
            key = (row.record.window_start.date(), row.record.tenant)
            usage[key] = usage.get(key, 0.0) + row.record.quantity / 3600
    return days, usage, gaps(rows)


def install_view(
    store: HubStore, ledger: UsageLedger | None, agent_id: str, now: datetime
) -> InstallView:
    """Everything the install page shows; 404 for an unknown install."""
    agent = store.agent(agent_id)
    if agent is None:
        raise Rejection(404, "unknown_agent", f"agent '{agent_id}' is not enrolled")
    health, bundles, chain_gaps = health_and_bundles(store, agent_id)
    days, usage, missing = usage_by_day(ledger, agent_id, now)
    latest = fleet.payload_doc(next(iter(store.reports(agent_id, 1, None)), None))
    support = support_store.listed(store, agent_id) if isinstance(store, SqlStore) else []
    return InstallView(agent, health, bundles, days, usage, missing, chain_gaps, latest, support)
