"""Lint, strict typing and the import contracts are part of the test run, not a separate job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PATHS = (
    "outpost", "agent", "hub", "wire", "bundle", "refs", "facts", "airgap", "devcluster",
    "k8syaml",
    "tests", "bench", "examples",
)  # fmt: skip


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(
            ("ruff", "check", *PATHS),
            id="ruff",
        ),
        pytest.param(("mypy",), id="mypy-strict"),
        pytest.param(("lint-imports",), id="import-contracts"),
    ],
)
def test_static_check_passes(argv: tuple[str, ...]) -> None:
    result = run(str(BIN / argv[0]), *argv[1:])
    assert result.returncode == 0, result.stdout + result.stderr
