"""The usage ledger table, over the hub's SQL store (SQLite or PostgreSQL).

I/O: SQL on the store's connection. One row per `record_id`; a write replaces a row only when its
revision is higher (compare-and-set in the UPDATE), so replays and re-sent reports change nothing
and racing requests cannot lower a revision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from facts import rfc3339
from hub.ledger import LedgerRow
from hub.sqlstore import SqlStore
from wire.usage import UsageRecord

COLUMNS = (
    "install_id, cluster_uid, tenant, meter, unit, window_start, window_end, quantity, "
    "record_id, revision, received_at"
)


def _t(moment: datetime) -> str:
    """Fixed-width UTC text, so windows compare and sort as strings."""
    return rfc3339.format_time(moment, fraction=True)


def row_of(row: Sequence[Any]) -> LedgerRow:
    """A ledger row from its database row."""
    start, end = rfc3339.parse_time(row[5]), rfc3339.parse_time(row[6])
    received = rfc3339.parse_time(row[10])
    assert start
    assert end
    assert received
    record = UsageRecord(row[1], row[2], row[3], row[4], start, end, float(row[7]), int(row[9]))
    return LedgerRow(row[0], row[1], record, received)


class UsageLedger:
    """Reads and writes `usage_records` through a `SqlStore`'s connection."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store  # the table comes with the store's migrations (0003_usage_ledger)

    def put(self, install_id: str, record: UsageRecord, now: datetime) -> str:
        """'new', 'revised', or 'duplicate' (an equal or lower revision is already kept)."""
        try:
            return self._put(install_id, record, now)
        except self.store.integrity_error:
            return self._put(install_id, record, now)  # a racing insert won: compare with it

    def _put(self, install_id: str, record: UsageRecord, now: datetime) -> str:
        values = (install_id, record.install, record.tenant, record.meter, record.unit,
                  _t(record.window_start), _t(record.window_end), record.quantity, record.id,
                  record.revision, _t(now))  # fmt: skip
        with self.store.transaction() as cur:
            cur.execute(
                self.store.sql(
                    "UPDATE usage_records SET quantity = ?, revision = ?, received_at = ? "
                    "WHERE record_id = ? AND revision < ?"
                ),
                (record.quantity, record.revision, _t(now), record.id, record.revision),
            )
            if cur.rowcount == 1:
                return "revised"
            cur.execute(
                self.store.sql("SELECT revision FROM usage_records WHERE record_id = ?"),
                (record.id,),
            )
            if cur.fetchall():
                return "duplicate"
            marks = ", ".join("?" * len(values))
            cur.execute(self.store.sql(f"INSERT INTO usage_records ({COLUMNS}) VALUES ({marks})"),
                        values)  # fmt: skip
        return "new"

    def rows(
        self, start: datetime, end: datetime, install_id: str = "", tenant: str = ""
    ) -> list[LedgerRow]:
        """Windows starting in [start, end), oldest first, optionally for one install/tenant."""
        where, args = ["window_start >= ?", "window_start < ?"], [_t(start), _t(end)]
        for column, value in (("install_id", install_id), ("tenant", tenant)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self.store.query(
            f"SELECT {COLUMNS} FROM usage_records WHERE {' AND '.join(where)} "
            "ORDER BY window_start, install_id, tenant, meter",
            args,
        )
        return [row_of(row) for row in rows]

    def counts(self) -> Counter[str]:
        """Ledger rows per install (for /metrics)."""
        rows = self.store.query(
            "SELECT install_id, COUNT(*) FROM usage_records GROUP BY install_id"
        )
        return Counter({str(r[0]): int(r[1]) for r in rows})
