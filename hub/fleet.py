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
    """An ISO time, or None."""
    return moment.isoformat() if moment else None


def agent_doc(agent: AgentRecord) -> dict[str, object]:
    """One install as the API lists it."""
    return {
        "agent_id": agent.agent_id,
        "cluster_uid": agent.cluster_uid,
        "enrolled_at": when(agent.enrolled_at),
        "last_seq": agent.last_seq,
        "last_seen": when(agent.last_seen),
    }


def report_doc(report: StoredReport) -> dict[str, object]:
    """One stored report as the API returns it."""
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
    """Every install, for `GET /v1/agents`."""
    return {"agents": [agent_doc(a) for a in store.agents()]}


def reports_doc(
    store: HubStore, agent_id: str, limit: int, before_seq: int | None
) -> dict[str, object]:
    """An install's reports, newest first, for `GET /v1/agents/{id}/reports`."""
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
    """A string field of a report ('' when missing or not a string)."""
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
    customer: str = ""
    display_name: str = ""

    @property
    def health(self) -> str:
        """'never' (no report yet), 'ok' (everything ready) or 'degraded'."""
        if self.last_seen is None:
            return "never"
        whole = all(ready == total for ready, total in self.ready.values())
        return "ok" if whole and not self.not_ready else "degraded"

    @property
    def title(self) -> str:
        """The install's name on the page: display name, else cluster uid, else agent id."""
        return self.display_name or self.cluster_uid or self.agent_id


def not_ready(doc: Mapping[str, object], limit: int = 8) -> tuple[str, ...]:
    """Names of what is not Ready, with its reason, at most `limit`."""
    names: list[str] = []
    for kind, label in LABELS.items():
        entries = doc.get(kind)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and entry.get("ready") != "True":
                names.append(f"{label} {text(entry, 'name')}: {text(entry, 'reason')}")
    return tuple(names[:limit])


def payload_doc(report: StoredReport | None) -> Mapping[str, object]:
    """The report's payload as an object; anything else (it is agent-supplied) shows as empty."""
    return loads_object(report.payload if report else b"{}")


def loads_object(data: bytes | str | None) -> Mapping[str, object]:
    """A JSON object from stored bytes; {} for anything else."""
    try:
        doc = json.loads(data) if data else {}
    except (ValueError, RecursionError):  # deep nesting raises RecursionError
        return {}
    return doc if isinstance(doc, Mapping) else {}


KINDS = ("dataplanes", "tenants", "applications")
USAGE = ("pods", "cpu_millicores", "memory_bytes")


def digest(doc: Mapping[str, object]) -> dict[str, object]:
    """What the fleet page shows of a report, small enough to keep on the agent's row."""
    return {
        "bundle": text(doc, "bundle", "version"),
        "ready": {k: [count(doc, "summary", k, "ready"), count(doc, "summary", k, "total")]
                  for k in KINDS},
        "usage": [count(doc, "summary", "usage", name) for name in USAGE],
        "not_ready": list(not_ready(doc)),
        "truncated": bool(doc.get("truncated")),
        "dropped": count(doc, "spool", "dropped_total"),
    }  # fmt: skip


def digest_text(doc: Mapping[str, object]) -> str:
    """The page's digest of a report, as stored on the install's row."""
    return json.dumps(digest(doc), separators=(",", ":"))


def from_digest(agent: AgentRecord, kept: Mapping[str, object], gaps: int) -> Install:
    """An overview row from a stored digest; anything malformed in it shows as empty or 0."""
    ready = kept.get("ready")
    ready = ready if isinstance(ready, Mapping) else {}
    usage = kept.get("usage")
    usage = usage if isinstance(usage, list) and len(usage) == 3 else [0, 0, 0]
    notes = kept.get("not_ready")
    return Install(
        agent_id=agent.agent_id,
        cluster_uid=agent.cluster_uid,
        last_seen=agent.last_seen,
        seq=agent.last_seq,
        bundle_version=text(kept, "bundle"),
        ready={k: pair(ready.get(k)) for k in KINDS},
        usage=(bounded(usage[0]), bounded(usage[1]), bounded(usage[2])),
        not_ready=tuple(str(n) for n in notes[:8]) if isinstance(notes, list) else (),
        chain_gaps=gaps,
        truncated=kept.get("truncated") is True,
        dropped_total=bounded(kept.get("dropped")),
        customer=agent.customer,
        display_name=agent.display_name,
    )


def bounded(value: object) -> int:
    """A count within range, else 0 (the page renders whatever the store holds)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if ok and isinstance(value, int) else 0


def pair(value: object) -> tuple[int, int]:
    """A (ready, total) pair within range."""
    if isinstance(value, list) and len(value) == 2:
        return bounded(value[0]), bounded(value[1])
    return 0, 0


def install(agent: AgentRecord, report: StoredReport | None, gaps: int) -> Install:
    """An overview row from a stored report (agents enrolled before digests were kept)."""
    return from_digest(agent, digest(payload_doc(report)), gaps)


def fleet(store: HubStore) -> list[Install]:
    """Every install, from the digests on the agents' rows (one query for the whole fleet)."""
    agents = store.agents()
    legacy = [a for a in agents if a.digest is None and a.last_seq > 0]
    latest = store.latest_reports() if legacy else {}
    rows = []
    for agent in agents:
        if agent.digest is None:
            rows.append(install(agent, latest.get(agent.agent_id), agent.chain_gaps))
        else:
            rows.append(from_digest(agent, loads_object(agent.digest), agent.chain_gaps))
    return rows
