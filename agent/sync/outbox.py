"""The outbox: what the agent has sent to the hub, kept reviewable in the cluster for a while.

Pure, over envelope bytes and a clock. Every report the hub acknowledged (`sent`) or refused for
good (`rejected`) is kept whole, byte for byte as it went out, for the retention window (chart
value `hub.outboxRetentionSeconds`) and within a size budget that fits one ConfigMap; a report
the spool had to drop is kept as a line without its body (`dropped`). Pending reports are the
spool itself. `outpost status outbox` lists all of them; `outbox show SEQ` prints one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from facts import rfc3339
from wire import protocol

DEFAULT_RETENTION = timedelta(days=7)
MAX_BYTES = 700 * 1024  # bodies kept, base64 included, so the ConfigMap stays under 1 MiB


@dataclass(frozen=True)
class Entry:
    """One report as the outbox knows it."""

    seq: int
    status: str  # pending | sent | rejected | dropped
    at: str
    size: int
    sha256: str
    categories: tuple[str, ...]
    usage_records: int
    envelope: bytes | None = None

    def to_dict(self, body: bool = True) -> dict[str, Any]:
        """The entry as JSON; the envelope base64-encoded when kept and `body` is asked for."""
        doc: dict[str, Any] = {
            "seq": self.seq, "status": self.status, "at": self.at, "size": self.size,
            "sha256": self.sha256, "categories": list(self.categories),
            "usageRecords": self.usage_records,
        }  # fmt: skip
        if body and self.envelope is not None:
            doc["envelope"] = base64.b64encode(self.envelope).decode()
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Entry:
        """An entry read back from the outbox ConfigMap."""
        raw = doc.get("envelope")
        return cls(int(doc["seq"]), str(doc["status"]), str(doc["at"]), int(doc["size"]),
                   str(doc["sha256"]), tuple(doc.get("categories") or ()),
                   int(doc.get("usageRecords") or 0),
                   base64.b64decode(raw) if raw else None)  # fmt: skip


class OutboxStore(Protocol):
    """Where the outbox lives (a ConfigMap beside the spool)."""

    async def load_outbox(self) -> tuple[Entry, ...]:
        """The outbox's entries, oldest first."""

    async def save_outbox(self, entries: Sequence[Entry]) -> None:
        """Replace the outbox's entries."""


def describe(envelope: bytes, status: str, now: datetime, keep: bool = True) -> Entry:
    """An entry for one envelope: its seq, size, categories and usage records from the payload."""
    doc = json.loads(envelope)
    payload = json.loads(base64.b64decode(doc.get("payload", "")) or b"{}")
    consent = payload.get("consent") or {}
    return Entry(
        seq=int(payload.get("seq") or 0), status=status, at=rfc3339.format_time(now),
        size=len(envelope), sha256=protocol.sha256_hex(envelope),
        categories=tuple(consent.get("shared") or ()),
        usage_records=len(payload.get("usage") or ()),
        envelope=envelope if keep else None,
    )  # fmt: skip


def record(
    entries: Sequence[Entry], new: Iterable[Entry], now: datetime, retention: timedelta
) -> tuple[Entry, ...]:
    """Add `new`, forget what is older than `retention`, and keep bodies within the budget."""
    horizon = now - retention
    kept = [e for e in [*entries, *new] if (rfc3339.parse_time(e.at) or now) >= horizon]
    budget, out = MAX_BYTES, []
    for entry in reversed(kept):  # newest keep their bodies first
        cost = len(entry.envelope) * 4 // 3 + 64 if entry.envelope is not None else 0
        fits = cost <= budget
        budget -= cost if fits else 0
        out.append(entry if fits else _without_body(entry))
    return tuple(reversed(out))


def _without_body(entry: Entry) -> Entry:
    return Entry(entry.seq, entry.status, entry.at, entry.size, entry.sha256, entry.categories,
                 entry.usage_records)  # fmt: skip


def to_text(entries: Sequence[Entry]) -> str:
    """JSON lines for the ConfigMap."""
    return "".join(json.dumps(e.to_dict(), sort_keys=True) + "\n" for e in entries)


def from_text(text: str) -> tuple[Entry, ...]:
    """The entries of the ConfigMap; unreadable lines are skipped (the outbox is a record)."""
    entries = []
    for line in text.splitlines():
        try:
            entries.append(Entry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return tuple(entries)
