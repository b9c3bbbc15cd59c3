"""Versioned schema migrations: small ordered SQL files in `hub/migrations/`, one version table.

Why plain SQL files and not Alembic: the hub has two dialects that differ only in two column
types (`{blob}`, `{int}` are filled in per store), no ORM models to diff, and a handful of tables;
an ordered list of reviewed SQL files is the whole need, with nothing to generate or install.

I/O: reads the packaged SQL files; the store runs them. A migration and the row recording it
commit in one transaction (both SQLite and PostgreSQL have transactional DDL), under a lock, so
two hub processes starting at once apply each migration exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from hub.errors import HubError

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, blob: str, integer: str) -> list[str]:
        """The file's statements with the dialect's column types filled in."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        text = "\n".join(lines).format(blob=blob, int=integer)
        return [part.strip() for part in text.split(";") if part.strip()]


def migrations() -> list[Migration]:
    """Every packaged migration, in version order."""
    found = []
    for entry in resources.files("hub.migrations").iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text()))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise HubError("the hub's migrations are not numbered 1..N without gaps")
    return found


def pending(applied: set[int]) -> list[Migration]:
    """The migrations still to run; refuses a database newer than this hub."""
    known = migrations()
    newest = max(applied, default=0)
    if newest > len(known):
        raise HubError(
            f"the database's schema is at version {newest}, newer than this hub knows "
            f"({len(known)}); run a newer hub"
        )
    return [m for m in known if m.version not in applied]


def latest() -> int:
    """The schema version this hub creates."""
    return len(migrations())
