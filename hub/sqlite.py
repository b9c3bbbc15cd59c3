"""The hub's embedded default store: one SQLite file (`sqlite:///path`).

I/O: opens the file (WAL journal, so readers do not block the writer). The connection is used
from the serving event loop only; `check_same_thread` is off because uvicorn may create the app
in another thread than the one that serves it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from hub.errors import HubError
from hub.sqlstore import SqlStore


class SqliteStore(SqlStore):
    integrity_error = sqlite3.IntegrityError

    def __init__(self, path: str) -> None:
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
            self.conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL stays consistent after a crash; a power cut may lose the last commits,
            # which agents resend (they keep reports until a signed ack arrives).
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.create_schema()
        except sqlite3.Error as exc:
            raise HubError(f"cannot open SQLite database '{path}': {exc}") from exc

    def lock_schema(self, cur: Any) -> None:
        """Take the write lock before migrating (DDL opens no transaction by itself)."""
        # sqlite3 does not open a transaction before DDL by itself: take the write lock now.
        cur.execute("BEGIN IMMEDIATE")

    def query(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run a read and return its rows."""
        # Outside a write, sqlite3 runs a SELECT in autocommit mode: no commit needed.
        return list(self.conn.execute(text, tuple(args)).fetchall())
