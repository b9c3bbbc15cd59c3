"""Backups of the hub's store while it serves.

I/O: SQLite's online backup API copies a consistent snapshot page by page while the hub keeps
writing (readers and the writer are not blocked for the whole copy). PostgreSQL has its own
tools: `pg_dump --format=custom` and `pg_restore` (see the README), nothing is re-invented here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hub.errors import HubError


def sqlite_backup(db_url: str, out: Path) -> int:
    """Copy the SQLite store at `db_url` to `out` (must not exist); returns the bytes written."""
    if not db_url.startswith("sqlite:///"):
        raise HubError("backup copies SQLite stores; for PostgreSQL use pg_dump (see README)")
    if out.exists():
        raise HubError(f"'{out}' exists already; a backup never overwrites")
    source_path = db_url.removeprefix("sqlite:///")
    if not Path(source_path).is_file():
        raise HubError(f"no SQLite database at '{source_path}'")
    try:
        with sqlite3.connect(source_path) as source, sqlite3.connect(out) as target:
            source.backup(target, pages=1024)
    except sqlite3.Error as exc:
        raise HubError(f"backup of '{source_path}' failed: {exc}") from exc
    return out.stat().st_size
