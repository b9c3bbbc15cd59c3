"""The support bundles table, over the hub's SQL store (SQLite or PostgreSQL).

I/O: SQL on the store's connection. An archive is stored once per install (primary key
(install, sha256)): uploading it again changes nothing. Listing never reads the archives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.sqlstore import SqlStore, to_text

COLUMNS = "agent_id, sha256, size, members, redactions, created, received_at, source"
SHOWN = 100
"""At most this many bundles are listed per install (newest first)."""


@dataclass(frozen=True)
class SupportBundleRecord:
    """One stored support bundle: what its verified manifest says, and who sent it."""

    agent_id: str
    sha256: str
    size: int
    members: int
    redactions: int
    created: str
    received_at: datetime
    source: str  # "agent", or "reader:<access token name>" for a hand upload

    def to_dict(self) -> dict[str, object]:
        """The API's view of it (no archive bytes: those are fetched one by one)."""
        return {
            "sha256": self.sha256, "size": self.size, "members": self.members,
            "redactions": self.redactions, "created": self.created,
            "received_at": to_text(self.received_at), "source": self.source,
        }  # fmt: skip


def record_of(row: Sequence[Any]) -> SupportBundleRecord:
    """A support bundle's record from its row."""
    return SupportBundleRecord(
        row[0], row[1], int(row[2]), int(row[3]), int(row[4]), row[5],
        datetime.fromisoformat(row[6]), row[7],
    )  # fmt: skip


def add(store: SqlStore, record: SupportBundleRecord, archive: bytes) -> bool:
    """Store it; False (nothing written) when this install already has this archive."""
    try:
        store.run(
            f"INSERT INTO support_bundles ({COLUMNS}, archive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.agent_id, record.sha256, record.size, record.members, record.redactions,
             record.created, to_text(record.received_at), record.source, archive),
        )  # fmt: skip
    except store.integrity_error:
        return False
    return True


def listed(store: SqlStore, agent_id: str) -> list[SupportBundleRecord]:
    """The install's support bundles, newest first."""
    rows = store.query(
        f"SELECT {COLUMNS} FROM support_bundles WHERE agent_id = ? "
        "ORDER BY received_at DESC, sha256 LIMIT ?",
        (agent_id, SHOWN),
    )
    return [record_of(row) for row in rows]


def archive(store: SqlStore, agent_id: str, sha256: str) -> bytes | None:
    """The stored archive's bytes, exactly as received."""
    rows = store.query(
        "SELECT archive FROM support_bundles WHERE agent_id = ? AND sha256 = ?",
        (agent_id, sha256),
    )
    return bytes(rows[0][0]) if rows else None
