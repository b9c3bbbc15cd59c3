"""The hub's PostgreSQL store runs the same ingest checks as the SQLite one.

Opt-in: set OUTPOST_TEST_POSTGRES_URL to a throwaway database (its hub tables are dropped and
recreated) and install psycopg 3; otherwise skipped. Each check from `test_ingest` runs again
on a hub backed by PostgreSQL.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator

import pytest

from hub.store import HubStore
from tests.unit.hub import test_ingest, test_usage_ledger
from tests.unit.hub.hubkit import HubKit

URL = os.environ.get("OUTPOST_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(
    not URL, reason="set OUTPOST_TEST_POSTGRES_URL to a throwaway PostgreSQL database"
)

CHECKS = [
    function
    for name, function in vars(test_ingest).items()
    if name.startswith("test_")
    and "token_is_stored_only_as_its_hash" not in name  # reads the SQLite dump
    and not hasattr(function, "pytestmark")  # parametrized ones stay SQLite-only
]


@pytest.fixture
def kit() -> Iterator[HubKit]:
    from hub.postgres import PostgresStore

    store = PostgresStore(URL)
    store.run(
        "DROP TABLE IF EXISTS usage_records, reports, agents, tokens, access_tokens, schema_version"
    )
    store.create_schema()
    yield HubKit(store=store)  # type: ignore[arg-type]
    store.close()


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_the_ingest_check_holds_on_postgres(kit: HubKit, check: Callable[..., None]) -> None:
    store: HubStore = kit.store
    assert store is kit.hub.store
    params = inspect.signature(check).parameters
    args: dict[str, object] = {"kit": kit}
    if "agent" in params:
        key, agent_id = test_ingest.enroll(kit)
        args["agent"] = test_ingest.Agent(kit, key, agent_id)
    check(**args)


LEDGER_CHECKS = [
    function
    for name, function in vars(test_usage_ledger).items()
    if name.startswith("test_") and "kit" in inspect.signature(function).parameters
]


@pytest.mark.parametrize("check", LEDGER_CHECKS, ids=[c.__name__ for c in LEDGER_CHECKS])
def test_the_usage_ledger_holds_on_postgres(kit: HubKit, check: Callable[..., None]) -> None:
    check(kit=kit)
