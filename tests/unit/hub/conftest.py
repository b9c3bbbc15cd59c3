"""The hub's store tests run twice: on SQLite and on a throwaway PostgreSQL server.

A module opts in with `pytestmark = pytest.mark.usefixtures("backend")`; every `HubKit` made in
such a test then opens its store on the test's backend. The PostgreSQL server starts once per
session (see `pgserver`); it is never skipped when PostgreSQL is installed, and fails with the
install hint when it is not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.hub import hubkit
from tests.unit.hub.pgserver import PgServer


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite"
        return
    from hub.postgres import PostgresStore

    server: PgServer = request.getfixturevalue("pg")
    opened: list[PostgresStore] = []

    def open_store() -> PostgresStore:
        opened.append(PostgresStore(server.fresh_schema()))
        return opened[-1]

    hubkit.STORES.append(open_store)
    yield "postgresql"
    hubkit.STORES.remove(open_store)
    for store in opened:
        store.close()
