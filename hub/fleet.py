"""The hub's read side: JSON views of agents and reports, and the fleet overview rows.

Reads the `HubStore` only. Stored payloads were verified on ingest but are still agent-supplied
text: values are type-checked as they are read, and the HTML page escapes everything it shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from hub.errors import Rejection
from hub.store import AgentRecord, HubStore, StoredReport
from wire.protocol import dig

MAX_PAGE = 500
LABELS = {"dataplanes": "data plane", "tenants": "tenant", "applications": "application"}


def when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def agent_doc(agent: AgentRecord) -> dict[str, object]:
    return {
        "agent_id": agent.agent_id,
        "cluster_uid": agent.cluster_uid,
        "enrolled_at": when(agent.enrolled_at),
        "last_seq": agent.last_seq,
        "last_seen": when(agent.last_seen),
    }


def report_doc(report: StoredReport) -> dict[str, object]:
    return {
        "seq": report.seq,
        "issued_at": when(report.issued_at),
        "received_at": when(report.received_at),
        "chain_gap": report.chain_gap,
        "payload_sha256": report.payload_sha256,
        "report": json.loads(report.payload),
        "envelope": json.loads(report.envelope),
    }


def agents_doc(store: HubStore) -> dict[str, object]:
    return {"agents": [agent_doc(a) for a in store.agents()]}


def reports_doc(
    store: HubStore, agent_id: str, limit: int, before_seq: int | None
) -> dict[str, object]:
    if store.agent(agent_id) is None:
        raise Rejection(404, "unknown_agent", f"agent '{agent_id}' is not enrolled")
    rows = store.reports(agent_id, max(1, min(limit, MAX_PAGE)), before_seq)
    return {"agent_id": agent_id, "reports": [report_doc(r) for r in rows]}


MAX_COUNT = 2**63 - 1


def count(doc: Mapping[str, object], *path: str) -> int:
    """A count or usage value; anything not an integer in 0..2⁶³-1 (agent-supplied) shows as 0."""
    value = dig(doc, *path)
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if ok and isinstance(value, int) else 0


def text(doc: Mapping[str, object], *path: str) -> str:
    value = dig(doc, *path)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Install:
    """One row of the fleet overview."""

    agent_id: str
    cluster_uid: str
    last_seen: datetime | None
    seq: int
    bundle_version: str
    ready: dict[str, tuple[int, int]]
    usage: tuple[int, int, int]
    not_ready: tuple[str, ...]
    chain_gaps: int
    truncated: bool
    dropped_total: int


def not_ready(doc: Mapping[str, object], limit: int = 8) -> tuple[str, ...]:
    names: list[str] = []
    for kind, label in LABELS.items():
        entries = doc.get(kind)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and entry.get("ready") != "True":
                names.append(f"{label} {text(entry, 'name')}: {text(entry, 'reason')}")
    return tuple(names[:limit])


def payload_doc(report: StoredReport | None) -> Mapping[str, object]:
    """The report's payload as an object; anything else (it is agent-supplied) shows as empty."""
    try:
        doc = json.loads(report.payload) if report else {}
    except (ValueError, RecursionError):  # deep nesting raises RecursionError
        return {}
    return doc if isinstance(doc, Mapping) else {}


def install(agent: AgentRecord, report: StoredReport | None, gaps: int) -> Install:
    doc = payload_doc(report)
    kinds = ("dataplanes", "tenants", "applications")
    return Install(
        agent_id=agent.agent_id,
        cluster_uid=agent.cluster_uid,
        last_seen=agent.last_seen,
        seq=agent.last_seq,
        bundle_version=text(doc, "bundle", "version"),
        ready={
            k: (count(doc, "summary", k, "ready"), count(doc, "summary", k, "total")) for k in kinds
        },
        usage=(
            count(doc, "summary", "usage", "pods"),
            count(doc, "summary", "usage", "cpu_millicores"),
            count(doc, "summary", "usage", "memory_bytes"),
        ),
        not_ready=not_ready(doc),
        chain_gaps=gaps,
        truncated=bool(doc.get("truncated")),
        dropped_total=count(doc, "spool", "dropped_total"),
    )


def fleet(store: HubStore) -> list[Install]:
    latest, gaps = store.latest_reports(), store.gap_counts()
    return [
        install(agent, latest.get(agent.agent_id), gaps.get(agent.agent_id, 0))
        for agent in store.agents()
    ]
