"""The YAML benchmark runs (small) and prints its figures and ratios; it is not timed here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "yaml_read.py"


def test_bench_prints_its_ratio_lines(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("yaml_read", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--size", "200K", "--rounds", "1", "--kubeconfig", ""]) == 0
    out = capsys.readouterr().out
    assert "ten CRDs" in out
    assert "ratio extra memory / text size:" in out
    assert "outpost k8syaml" in out
