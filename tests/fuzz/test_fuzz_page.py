"""Fuzz the fleet page: whatever an agent's signed report holds, the page renders.

Property: `fleet.install` over any JSON report payload, then `page.render`, returns HTML and
raises nothing (stored payloads verified on ingest but are agent-supplied: huge numbers, odd
types, deep nesting), within the deadline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.fleet import install
from hub.page import render
from hub.store import AgentRecord, StoredReport
from tests.fuzz.strategies import HUGE, json_values

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
COUNTS = st.fixed_dictionaries({"ready": HUGE | json_values(), "total": HUGE | json_values()})
SUMMARY = st.fixed_dictionaries(
    {
        "dataplanes": COUNTS,
        "tenants": COUNTS,
        "applications": COUNTS,
        "usage": st.dictionaries(
            st.sampled_from(["pods", "cpu_millicores", "memory_bytes"]), HUGE | json_values()
        ),
    }
)
REPORT = st.fixed_dictionaries(
    {
        "summary": SUMMARY | json_values(),
        "bundle": st.fixed_dictionaries({"version": json_values()}) | json_values(),
        "tenants": st.lists(
            st.dictionaries(st.sampled_from(["name", "ready", "reason"]), json_values())
        ),
        "truncated": json_values(),
        "spool": st.fixed_dictionaries({"dropped_total": HUGE}) | json_values(),
    }
)


def agent(seq: int, seen: datetime | None) -> AgentRecord:
    return AgentRecord("a" * 64, "<uid>", "key", NOW, b"", last_seq=seq, last_seen=seen)


@given(
    st.one_of(REPORT, json_values()),
    HUGE,
    st.none() | st.datetimes(timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=2**63),
)
def test_fleet_page_renders_whatever_the_store_holds(
    doc: object, seq: int, seen: datetime | None, gaps: int
) -> None:
    payload = json.dumps(doc).encode()
    report = StoredReport("a" * 64, 1, "n", "0" * 64, NOW, NOW, False, b"{}", payload, b"")
    html = render([install(agent(seq, seen), report, gaps)], NOW + timedelta(seconds=1))
    assert html.startswith("<!doctype html>")


def test_deeply_nested_report_renders() -> None:
    report = StoredReport("a" * 64, 1, "n", "0" * 64, NOW, NOW, False, b"{}", b"[" * 50_000, b"")
    assert render([install(agent(1, NOW), report, 0)], NOW)
