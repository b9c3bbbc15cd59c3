"""The delta benchmark, run tiny: its size and bytes-sent targets hold (no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.registry
BENCH = Path(__file__).resolve().parents[2] / "bench" / "airgap_delta.py"


def test_tiny_delta_benchmark_meets_its_size_and_traffic_targets() -> None:
    spec = importlib.util.spec_from_file_location("airgap_delta_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up while being defined
    spec.loader.exec_module(bench)
    figures = bench.main(["--base-mib", "12", "--changed-mib", "3", "--json"])
    changed = figures["changedBytes"]
    assert figures["bytes"]["delta"] <= 1.05 * changed
    assert 0 < figures["import"]["delta"]["bytesSent"] <= changed
    assert figures["import"]["full"]["bytesSent"] <= changed  # HEAD finds the base's blobs
