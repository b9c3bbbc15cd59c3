"""The YAML benchmark against kubectl on the local control plane (small, untimed): it prints the
time and memory ratios side by side."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
BENCH = Path(__file__).resolve().parents[3] / "bench" / "yaml_read.py"


def test_bench_prints_ratios_against_kubectl(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("yaml_read", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--size", "300K", "--rounds", "1", "--kubeconfig", str(cluster.kubeconfig),
            "--kubectl", str(cluster.kubectl)]  # fmt: skip
    assert module.main(argv) == 0
    out = capsys.readouterr().out
    assert "kubectl create --dry-run=client -o json:" in out
    assert "ratio time ours/kubectl:" in out
    assert "ratio memory ours(extra)/kubectl(RSS):" in out
