"""Building a status report from a snapshot: the payload an agent signs and sends.

Pure: snapshot, state, `now` and a nonce in; payload bytes and the next state out. The report is
assembled field by field from the typed snapshot (an allowlist), never by serializing objects
wholesale. It is capped in size: when over, the longest lists are cut from the end (they are
sorted, so the cut is deterministic), `truncated` is set, and the summary counts stay complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync import consent
from agent.sync.snapshot import ClusterSnapshot, Health, TenantInfo, Usage
from agent.sync.state import SyncState
from bundle import dsse
from facts.api import product_version
from wire import protocol

LISTS = ("applications", "tenants", "dataplanes")


@dataclass(frozen=True)
class ReportOptions:
    """What a report may carry: the consent categories (`include_owners` adds `owners`)."""

    include_owners: bool = False
    max_bytes: int = protocol.MAX_REPORT_BYTES
    agent_version: str = field(default_factory=product_version)
    share: frozenset[str] = consent.DEFAULT_SHARE

    @property
    def shared(self) -> frozenset[str]:
        """The categories that may leave the cluster."""
        return self.share | {"owners"} if self.include_owners else self.share


def health_entry(health: Health) -> dict[str, object]:
    """Name, Ready and reason of one object."""
    return {"name": health.name, "ready": health.ready, "reason": health.reason}


def usage_entry(usage: Usage) -> dict[str, object]:
    """Pods, CPU and memory requested."""
    return {
        "pods": usage.pods,
        "cpu_millicores": usage.cpu_millicores,
        "memory_bytes": usage.memory_bytes,
    }


def tenant_entry(tenant: TenantInfo, include_owners: bool) -> dict[str, object]:
    """A tenant's entry: health, usage and (when shared) its owner."""
    entry = health_entry(tenant.health)
    entry["usage"] = usage_entry(tenant.usage)
    if include_owners and tenant.owner is not None:
        entry["owner"] = tenant.owner
    return entry


def tally(healths: list[Health]) -> dict[str, int]:
    """Total and Ready counts."""
    return {"total": len(healths), "ready": sum(h.ready == "True" for h in healths)}


def summary(snapshot: ClusterSnapshot) -> dict[str, object]:
    """The counts and the summed usage."""
    total = Usage()
    for tenant in snapshot.tenants:
        total = total + tenant.usage
    return {
        "dataplanes": tally(list(snapshot.dataplanes)),
        "tenants": tally([t.health for t in snapshot.tenants]),
        "applications": tally([a.health for a in snapshot.applications]),
        "usage": usage_entry(total),
    }


def lists(snapshot: ClusterSnapshot, options: ReportOptions) -> dict[str, list[dict[str, object]]]:
    """The per-object lists of the report."""
    apps = []
    for app in snapshot.applications:
        entry = health_entry(app.health)
        entry["tenant"] = app.tenant
        apps.append(entry)
    return {
        "dataplanes": [health_entry(h) for h in snapshot.dataplanes],
        "tenants": [tenant_entry(t, "owners" in options.shared) for t in snapshot.tenants],
        "applications": apps,
    }


def header(
    snapshot: ClusterSnapshot, state: SyncState, now: datetime, nonce: str
) -> dict[str, object]:
    """The header: identity, sequence, chain link, period, spool counters."""
    bundle = snapshot.bundle
    start = state.last_issued_at
    return {
        "schema": protocol.SCHEMA_STATUS,
        "agent_id": state.agent_id,
        "cluster_uid": snapshot.cluster_uid,
        "seq": state.seq + 1,
        "issued_at": protocol.format_time(now),
        "nonce": nonce,
        "previous_sha256": state.last_sha256,
        "bundle": {"version": bundle.version, "sequence": bundle.sequence} if bundle else None,
        "period": {
            "start": protocol.format_time(start) if start else None,
            "end": protocol.format_time(now),
        },
        "spool": {
            "dropped": state.dropped,
            "dropped_total": state.dropped_total,
            "rejected": state.rejected,
            "rejected_total": state.rejected_total,
        },
    }


def fit(doc: dict[str, object], parts: dict[str, list[dict[str, object]]], limit: int) -> bytes:
    """Encode `doc` with `parts`, cutting the longest lists until it fits under `limit` bytes."""
    data = protocol.encode({**doc, **parts, "truncated": False})
    while len(data) > limit:
        name = max(LISTS, key=lambda n: (len(parts[n]), -LISTS.index(n)))
        entries = parts[name]
        if not entries:
            raise ValueError(f"report header alone exceeds {limit} bytes")
        keep = min(len(entries) - 1, int(len(entries) * limit / len(data) * 0.95))
        parts = {**parts, name: entries[:keep]}
        data = protocol.encode({**doc, **parts, "truncated": True})
    return data


def build_report(
    snapshot: ClusterSnapshot,
    state: SyncState,
    now: datetime,
    nonce: str,
    options: ReportOptions | None = None,
) -> tuple[bytes, SyncState]:
    """The next report's payload and the state to persist once it is signed and spooled."""
    opts = options or ReportOptions()
    doc = header(snapshot, state, now, nonce)
    doc["agent_version"] = opts.agent_version
    doc["license"] = snapshot.license
    doc["preflight"] = snapshot.preflight
    doc["summary"] = summary(snapshot)
    doc["usage"] = [record.to_event(state.agent_id) for record in snapshot.usage]
    allowed = consent.apply({**doc, **lists(snapshot, opts)}, opts.shared)
    parts = {name: allowed.pop(name) for name in LISTS}
    payload = fit(allowed, parts, opts.max_bytes)
    after = replace(
        state,
        seq=state.seq + 1,
        last_sha256=protocol.sha256_hex(payload),
        last_issued_at=now,
        dropped=0,
        rejected=0,
    )
    return payload, after


def sign_report(payload: bytes, key: Ed25519PrivateKey) -> bytes:
    """The envelope bytes as spooled, sent and exported (one JSON document, no newlines)."""
    envelope = dsse.sign(dsse.PAYLOAD_STATUS, payload, [key])
    return compact(envelope)


def compact(envelope: dsse.Envelope) -> bytes:
    """One-line envelope JSON, so spools and exports can be JSON lines."""
    return protocol.envelope_line(envelope)
