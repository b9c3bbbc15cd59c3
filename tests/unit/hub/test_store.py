"""The hub's store on SQLite and PostgreSQL: migrations, races, retention, backup, readiness.

Aspects: a database made by the first round's hub (tables created without a version table)
upgrades in place and keeps its agents, reports and tokens; migrating twice changes nothing; a
database newer than the hub is refused; two connections racing to store the same `seq` (or the
same nonce) never both win; retention deletes old raw reports but keeps each install's latest and
the usage ledger; a SQLite store is copied while open and the copy serves; `/readyz` checks the
database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import migrate
from hub.cli import open_store
from hub.errors import HubError
from hub.sqlstore import SqlStore
from hub.store import StoredReport
from tests.unit.hub import hubkit
from tests.unit.hub.hubkit import T0, HubKit, run
from tests.unit.hub.pgserver import PgServer
from tests.unit.hub.test_ingest import Agent, enroll

# The first round's schema, exactly as its hub created it (no version table).
FIRST_ROUND = """
CREATE TABLE IF NOT EXISTS tokens (
    sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    used_by TEXT, used_at TEXT);
CREATE TABLE IF NOT EXISTS agents (
    agent_id TEXT PRIMARY KEY, cluster_uid TEXT NOT NULL, public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL, enroll_ack {blob} NOT NULL, last_seq {int} NOT NULL DEFAULT 0,
    last_sha256 TEXT NOT NULL, last_seen TEXT, previous_key TEXT, previous_until TEXT);
CREATE TABLE IF NOT EXISTS reports (
    agent_id TEXT NOT NULL REFERENCES agents(agent_id), seq {int} NOT NULL, nonce TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL, issued_at TEXT NOT NULL, received_at TEXT NOT NULL,
    chain_gap {int} NOT NULL, envelope {blob} NOT NULL, payload {blob} NOT NULL,
    ack {blob} NOT NULL, PRIMARY KEY (agent_id, seq), UNIQUE (agent_id, nonce),
    UNIQUE (agent_id, payload_sha256));
"""
T = T0.isoformat()
OLD_ROWS: list[tuple[str, tuple[object, ...]]] = [
    ("tokens", ("a" * 64, T, T, "agt_old", T)),
    ("agents", ("agt_old", "uid-old", "key", T, b"ack", 2, "b" * 64, T, None, None)),
    ("reports", ("agt_old", 1, "n1", "c" * 64, T, T, 0, b"e", b'{"bundle":{"version":"1.0"}}',
                 b"a1")),
    ("reports", ("agt_old", 2, "n2", "b" * 64, T, T, 1, b"e",
                 b'{"bundle":{"version":"1.1"},"summary":{"tenants":{"ready":2,"total":3}}}',
                 b"a2")),
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, by URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    server: PgServer = request.getfixturevalue("pg")
    return server.fresh_schema()


def first_round(url: str) -> None:
    """Create the first round's tables and rows with the database driver itself."""
    sqlite = url.startswith("sqlite")
    blob, integer = ("BLOB", "INTEGER") if sqlite else ("BYTEA", "BIGINT")
    ddl = [s for s in FIRST_ROUND.format(blob=blob, int=integer).split(";") if s.strip()]
    mark = "?" if sqlite else "%s"
    if sqlite:
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        import psycopg

        conn = psycopg.connect(url)
    with conn:
        for statement in ddl:
            conn.execute(statement)
        for table, values in OLD_ROWS:
            conn.execute(f"INSERT INTO {table} VALUES ({', '.join([mark] * len(values))})", values)
    conn.close()


def test_a_first_round_database_upgrades_and_keeps_its_data(fresh_url: str) -> None:
    first_round(fresh_url)
    store = open_store(fresh_url)
    try:
        assert isinstance(store, SqlStore)
        assert store.schema_version() == migrate.latest()
        agent = store.agent("agt_old")
        assert agent is not None
        assert (agent.last_seq, agent.cluster_uid, agent.chain_gaps) == (2, "uid-old", 1)
        assert [r.seq for r in store.reports("agt_old", 10, None)] == [2, 1]
        assert store.token("a" * 64) is not None
        from hub import fleet

        (row,) = fleet.fleet(store)  # no digest yet: read from the latest stored report
        assert (row.bundle_version, row.ready["tenants"]) == ("1.1", (2, 3))
    finally:
        store.close()


def test_migrating_twice_changes_nothing_and_a_newer_database_is_refused(fresh_url: str) -> None:
    open_store(fresh_url).close()
    store = open_store(fresh_url)
    assert isinstance(store, SqlStore)
    versions = store.run("SELECT version FROM schema_version ORDER BY version")
    assert [int(v[0]) for v in versions] == list(range(1, migrate.latest() + 1))
    store.run("INSERT INTO schema_version VALUES (999, 'future', 'x')")
    store.close()
    with pytest.raises(HubError, match="newer than this hub"):
        open_store(fresh_url)


def race(url: str, attempts: list[Callable[[SqlStore], bool]]) -> list[bool]:
    """Each attempt on its own connection, released at the same moment."""
    stores = [open_store(url) for _ in attempts]
    barrier, results = threading.Barrier(len(attempts)), [False] * len(attempts)

    def go(index: int) -> None:
        barrier.wait()
        results[index] = attempts[index](stores[index])  # type: ignore[arg-type]

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for store in stores:
        store.close()
    return results


def report(agent_id: str, seq: int, nonce: str, sha: str) -> StoredReport:
    return StoredReport(agent_id, seq, nonce, sha, T0, T0, False, b"{}", b"{}", b"{}")


@pytest.mark.parametrize("clash", ["seq", "nonce"])
def test_racing_writers_never_both_store(fresh_url: str, clash: str) -> None:
    hubkit.STORES.append(lambda: open_store(fresh_url))  # type: ignore[arg-type,return-value]
    try:
        kit = HubKit()
    finally:
        hubkit.STORES.pop()
    _, agent_id = enroll(kit)
    kit.store.close()
    for round_ in range(5):
        seq = round_ * 10 + 1
        attempts = [
            report(agent_id, seq + (i if clash == "nonce" else 0),
                   f"n{round_}" if clash == "nonce" else f"n{round_}-{i}", f"{round_}{i}" * 8)
            for i in range(4)
        ]  # fmt: skip
        results = race(fresh_url, [lambda s, r=r: s.add_report(r) for r in attempts])
        assert sum(results) == 1, (clash, round_, results)


def test_retention_keeps_each_installs_latest_report_and_the_ledger(fresh_url: str) -> None:
    hubkit.STORES.append(lambda: open_store(fresh_url))  # type: ignore[arg-type,return-value]
    try:
        kit = HubKit()
    finally:
        hubkit.STORES.pop()
    key, agent_id = enroll(kit)
    agent = Agent(kit, key, agent_id)
    for _ in range(3):
        kit.clock.advance(86400)
        assert kit.hub.ingest(agent_id, agent.next()).status == 202
    kit.store.run(
        "INSERT INTO usage_records VALUES ('r1', ?, 'uid-1', 't', 'pods', 'pod-seconds', ?, ?, "
        "1.0, 1, ?)".replace("?", "%s" if kit.store.placeholder == "%s" else "?"),
        (agent_id, T, T, T),
    )
    removed = kit.store.prune_reports(kit.clock() - timedelta(hours=1))
    assert removed == 2
    assert [r.seq for r in kit.store.reports(agent_id, 10, None)] == [3]
    assert kit.store.run("SELECT COUNT(*) FROM usage_records")[0][0] == 1
    kit.store.close()


def test_a_sqlite_store_is_backed_up_while_open_and_the_copy_serves(tmp_path: Path) -> None:
    from hub.backup import sqlite_backup

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    hubkit.STORES.append(lambda: open_store(url))  # type: ignore[arg-type,return-value]
    try:
        kit = HubKit()
    finally:
        hubkit.STORES.pop()
    key, agent_id = enroll(kit)
    assert kit.hub.ingest(agent_id, Agent(kit, key, agent_id).next()).status == 202
    assert sqlite_backup(url, tmp_path / "copy.db") > 0  # the hub's connection is still open
    copy = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    assert [r.seq for r in copy.reports(agent_id, 10, None)] == [1]
    copy.close()
    with pytest.raises(HubError, match="never overwrites"):
        sqlite_backup(url, tmp_path / "copy.db")
    kit.store.close()


@pytest.mark.usefixtures("backend")
def test_readyz_checks_the_database() -> None:
    kit = HubKit()

    async def get() -> httpx.Response:
        async with kit.http() as http:
            return await http.get("/readyz")

    ready = run(get())
    assert ready.status_code == 200
    assert ready.json()["schema_version"] == migrate.latest()
    kit.store.close()
    assert run(get()).status_code == 503
