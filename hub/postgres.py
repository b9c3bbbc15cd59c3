"""The hub store on PostgreSQL (`postgresql://…`), through psycopg 3 (an optional dependency).

I/O: one connection per thread, opened from the URL on first use (the app runs store work on
`threads` threads, so one process overlaps several commits instead of queueing them). The SQL
is shared with the SQLite store (`hub.sqlstore`); only the placeholder style and column types
differ. psycopg is imported by name at open time so the hub runs without it when SQLite is used.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hub.errors import HubError
from hub.sqlstore import SqlStore


def load_psycopg() -> Any:
    """The psycopg module; HubError saying how to install it when missing."""
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
    threads = 8
    lock: threading.Lock

    @property
    def conn(self) -> Any:
        """This thread's connection (autocommit: a read is one round trip)."""
        mine = getattr(self.local, "conn", None)
        if mine is None:
            if self.closed:
                raise HubError("the PostgreSQL store is closed")
            mine = self.local.conn = self.psycopg.connect(self.url, autocommit=True)
            with self.lock:
                self.opened.append(mine)
        return mine

    def close(self) -> None:
        """Close every connection this store opened."""
        with self.lock:
            for conn in self.opened:
                conn.close()
            self.opened.clear()
            self.closed = True

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """All statements inside commit together, or none (an explicit BEGIN … COMMIT)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            yield cur

    def query(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run a read and return its rows."""
        with self.conn.cursor() as cur:
            cur.execute(self.sql(text), tuple(args))
            return list(cur.fetchall()) if cur.description else []

    def lock_schema(self, cur: Any) -> None:
        """Take the migration lock (one process migrates, the others wait)."""
        # Several hub processes may start at once: one migrates, the others wait and find it done.
        cur.execute("SELECT pg_advisory_xact_lock(7010701)")

    def __init__(self, url: str) -> None:
        psycopg = load_psycopg()
        self.psycopg, self.url, self.integrity_error = psycopg, url, psycopg.IntegrityError
        self.local = threading.local()
        self.lock = threading.Lock()
        self.opened: list[Any] = []
        self.closed = False
        try:
            self.create_schema()
        except psycopg.Error as exc:
            # The URL may carry a password: report the failure without it.
            raise HubError(f"cannot open the PostgreSQL database: {type(exc).__name__}") from exc
