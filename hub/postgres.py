"""The hub store on PostgreSQL (`postgresql://…`), through psycopg 3 (an optional dependency).

I/O: one connection opened from the URL. The SQL is shared with the SQLite store
(`hub.sqlstore`); only the placeholder style and column types differ. psycopg is imported
by name at open time so the hub runs without it when SQLite is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hub.errors import HubError
from hub.sqlstore import SqlStore


def load_psycopg() -> Any:
    try:
        return importlib.import_module("psycopg")
    except ImportError as exc:
        raise HubError(
            "PostgreSQL needs psycopg 3: install it with 'pip install \"psycopg[binary]\"', "
            "or use --db sqlite:///<path>"
        ) from exc


class PostgresStore(SqlStore):
    placeholder = "%s"
    blob_type = "BYTEA"
    int_type = "BIGINT"

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """All statements inside commit together, or none (an explicit BEGIN … COMMIT)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            yield cur

    def query(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        with self.conn.cursor() as cur:
            cur.execute(self.sql(text), tuple(args))
            return list(cur.fetchall()) if cur.description else []

    def lock_schema(self, cur: Any) -> None:
        # Several hub processes may start at once: one migrates, the others wait and find it done.
        cur.execute("SELECT pg_advisory_xact_lock(7010701)")

    def __init__(self, url: str) -> None:
        psycopg = load_psycopg()
        self.integrity_error = psycopg.IntegrityError
        try:
            # Autocommit: a read is one round trip; writes open a transaction (`transaction`).
            self.conn = psycopg.connect(url, autocommit=True)
            self.create_schema()
        except psycopg.Error as exc:
            # The URL may carry a password: report the failure without it.
            raise HubError(f"cannot open the PostgreSQL database: {type(exc).__name__}") from exc
