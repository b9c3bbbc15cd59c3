"""Health-gated upgrades: the timeout, when a rollback is due, and what it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.core.upgrade import PREVIOUS, health_timeout, rollback_due, rolled_back

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def bundle(timeout: str = "", previous: str = "b1") -> dict[str, object]:
    notes = {PREVIOUS: previous} if previous else {}
    return {"metadata": {"annotations": notes}, "spec": {"upgrade": {"healthTimeout": timeout}}}


def test_timeout() -> None:
    assert health_timeout(bundle("20s")) == timedelta(seconds=20)
    assert health_timeout(bundle("2h")) == timedelta(hours=2)
    assert health_timeout(bundle("")) == timedelta(minutes=10)


def test_due_only_for_an_unhealthy_upgrade_past_its_deadline() -> None:
    applied = NOW - timedelta(seconds=30)
    assert rollback_due(bundle("20s"), applied, ["Application web"], NOW)
    assert not rollback_due(bundle("60s"), applied, ["Application web"], NOW)
    assert not rollback_due(bundle("20s"), applied, [], NOW)
    assert not rollback_due(bundle("20s", previous=""), applied, ["Application web"], NOW)


def test_outcome_names_the_failing_objects() -> None:
    outcome = rolled_back(["Application web"], "b1", timedelta(seconds=20))
    assert outcome.reason == "RolledBack"
    assert outcome.status == "False"
    assert "Application web" in outcome.message
    assert "'b1' is in force again" in outcome.message
