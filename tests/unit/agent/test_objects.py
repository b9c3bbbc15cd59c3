"""Object identity, the in-sync comparison and quantities."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agent.core.objects import (
    ObjectRef,
    add_quantities,
    exceeded,
    is_in_sync,
    out_of_sync,
    parse_quantity,
    ref_of,
    same_quantity,
    with_labels,
)

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        pytest.param({"a": 1}, {"a": 1, "b": 2}, True, id="subset"),
        pytest.param({"a": 1}, {"a": 2}, False, id="differs"),
        pytest.param({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}, True, id="nested-list"),
        pytest.param({"a": [1, 2]}, {"a": [1]}, False, id="list-length"),
        pytest.param({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}, True, id="list-elementwise"),
        pytest.param({"a": {}}, {}, True, id="empty-map-matches-missing"),
        pytest.param({"a": []}, {"a": None}, True, id="empty-list-matches-null"),
        pytest.param({"a": 1}, None, False, id="missing-object"),
        pytest.param({"hard": {"cpu": "1000m"}}, {"hard": {"cpu": "1"}}, True, id="quantity"),
        pytest.param({"hard": {"memory": "1024Mi"}}, {"hard": {"memory": "1Gi"}}, True, id="mi-gi"),
        pytest.param({"labels": {"v": "1.0"}}, {"labels": {"v": "1"}}, False, id="not-quantity"),
        pytest.param({"a": "x"}, {"a": {"b": 1}}, False, id="type-mismatch"),
    ],
)
def test_is_in_sync(desired: Any, live: Any, expected: bool) -> None:
    assert is_in_sync(desired, live) is expected


def test_out_of_sync_lists_missing_and_changed() -> None:
    changed = {**CM, "data": {"k": "v"}}
    other = {**CM, "metadata": {"name": "d", "namespace": "n"}}
    live = {ref_of(CM): {**CM, "data": {"k": "old"}}}
    assert out_of_sync([changed, other], live) == [changed, other]
    assert out_of_sync([CM], live) == []


def test_object_ref_round_trip_and_text() -> None:
    ref = ref_of(CM)
    assert ObjectRef.from_dict(ref.to_dict()) == ref
    assert str(ref) == "ConfigMap n/c"
    cluster = ObjectRef("v1", "Namespace", "", "n")
    assert "namespace" not in cluster.to_dict()


def test_with_labels_copies() -> None:
    out = with_labels(CM, {"a": "b"})
    assert out["metadata"]["labels"] == {"a": "b"}
    assert "labels" not in CM["metadata"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", Decimal("0.5")), ("1Gi", Decimal(2**30)), ("2e3", Decimal(2000)), (3, Decimal(3)),
     ("lots", None), ("1Qi", None)],
)  # fmt: skip
def test_parse_quantity(text: str | int, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


def test_quantity_helpers() -> None:
    assert same_quantity("1000m", "1")
    assert not same_quantity("1", None)
    assert exceeded({"cpu": "1", "pods": "10"}, {"cpu": "1500m", "pods": "3"}) == {
        "cpu": ("1", "1500m")
    }
    assert add_quantities(["100m", "400m", "1"]) == "1.5"
