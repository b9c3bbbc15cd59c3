"""Condition transitions and the Ready/Reconciling/Stalled presence rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.api import ConditionType, Reason
from agent.core.conditions import (
    EPOCH,
    Condition,
    Outcome,
    Problem,
    Verdict,
    conclude,
    equivalent,
    find,
    first_visit,
    from_status,
    parse_time,
    set_condition,
    to_status,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def cond(type_: str, status: str = "True", reason: str = "R", when: datetime = T0) -> Condition:
    return Condition(type_, status, reason, "m", 1, when)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old_status", "new_status", "expected_time"),
    [
        pytest.param("True", "True", T0, id="same-status-keeps-time"),
        pytest.param("True", "False", T1, id="flip-updates-time"),
        pytest.param("Unknown", "True", T1, id="unknown-to-true-updates-time"),
    ],
)
def test_transition_time_changes_only_on_flip(
    old_status: str, new_status: str, expected_time: datetime
) -> None:
    current = (cond("Ready", old_status, when=T0),)
    result = set_condition(current, cond("Ready", new_status, reason="Other", when=T1))
    assert result[0].last_transition_time == expected_time
    assert result[0].reason == "Other"


def test_set_condition_adds_new_type_and_keeps_others() -> None:
    result = set_condition((cond("Ready"),), cond("Verified"))
    assert [c.type for c in result] == ["Ready", "Verified"]


def test_round_trip_through_status() -> None:
    conditions = (cond("Stalled", "True", "Bad"), cond("Ready", "False", "Bad"))
    raw = to_status(conditions)
    assert raw[0]["type"] == "Ready"
    assert raw[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert set(from_status(raw)) == set(conditions)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-01T12:00:00Z", T0),
        ("2026-01-01T12:00:00+00:00", T0),
        ("nonsense", EPOCH),
        (None, EPOCH),
    ],
)
def test_parse_time(raw: object, expected: datetime) -> None:
    assert parse_time(raw) == expected


def test_from_status_tolerates_bad_entries() -> None:
    result = from_status([{"type": "Ready", "status": "maybe"}, {"status": "True"}])
    assert len(result) == 1
    assert result[0].status == "Unknown"
    assert result[0].reason == Reason.INITIALIZING


CASES = [
    pytest.param(Outcome("True", "Reconciled", "ok"), {"Ready"}, id="ready-only"),
    pytest.param(
        Outcome("False", "Progressing", "wait", reconciling=True),
        {"Ready", "Reconciling"},
        id="reconciling-present-while-true",
    ),
    pytest.param(
        Outcome("False", "NamespaceConflict", "no", stalled=True),
        {"Ready", "Stalled"},
        id="stalled-present-while-true",
    ),
    pytest.param(
        Outcome("True", "Verified", "ok", extra=(Verdict("Verified", "True", "Verified", "ok"),)),
        {"Ready", "Verified"},
        id="extra-domain-condition",
    ),
]


@pytest.mark.parametrize(("outcome", "types"), CASES)
def test_conclude_presence_rules(outcome: Outcome, types: set[str]) -> None:
    # Start from a state where both abnormal conditions exist: they must go unless still true.
    start = (cond("Ready", "False"), cond("Reconciling"), cond("Stalled"))
    result = conclude(start, outcome, 7, T1)
    assert {c.type for c in result} == types
    assert all(c.observed_generation == 7 for c in result)
    ready = find(result, ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.reason) == (outcome.status, outcome.reason)


def test_conclude_keeps_time_when_ready_stays_true() -> None:
    start = (cond("Ready", "True", when=T0),)
    result = conclude(start, Outcome("True", "Reconciled", "ok"), 2, T1)
    assert result[0].last_transition_time == T0


def test_outcome_cannot_be_reconciling_and_stalled() -> None:
    with pytest.raises(ValueError, match="both"):
        Outcome("False", "X", "y", reconciling=True, stalled=True)


def test_problem_outcome() -> None:
    assert Problem("TenantNotFound", "m").outcome().stalled
    assert Problem("DependencyNotReady", "m", stalled=False).outcome().reconciling


def test_first_visit_is_unknown_and_reconciling() -> None:
    result = first_visit(1, T0)
    assert {(c.type, c.status) for c in result} == {("Ready", "Unknown"), ("Reconciling", "True")}


def test_equivalent_ignores_time_and_order() -> None:
    a = to_status((cond("Ready", when=T0), cond("Verified", when=T0)))
    b = to_status((cond("Verified", when=T1), cond("Ready", when=T1)))
    assert equivalent(a, list(reversed(b)))
    assert not equivalent(a, to_status((cond("Ready", "False"), cond("Verified"))))
