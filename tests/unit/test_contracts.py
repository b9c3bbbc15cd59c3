"""The import contracts bite: a copy of the tree with one rule broken on purpose fails lint-imports.

Each case adds one module (or one import) that the architecture forbids, to a scratch copy of the
packages, and expects `lint-imports` to fail naming the contract. The case of a new agent module
placed at no layer shows that new modules fall under a contract without anyone listing them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]

CASES = {
    "hub-imports-agent": ("hub/leak.py", "import agent.api\n", "project layers"),
    "agent-imports-airgap": ("agent/core/leak.py", "import airgap.plan\n", "project layers"),
    "pure-core-imports-kopf": ("agent/core/leak.py", "import kopf\n", "pure cores"),
    "kopf-anywhere": ("agent/runtime/leak.py", "import kopf\n", "no kopf"),
    "reconciler-kinds-depend": (
        "agent/reconcilers/leak_tenant.py",
        "",
        "reconciler kinds are independent",
    ),
    "new-module-at-no-layer": ("agent/newthing.py", "", "agent layers"),
    "core-imports-the-runtime": (
        "agent/core/leak.py",
        "import agent.runtime.queue\n",
        "agent layers",
    ),
}


def scratch_copy(tmp: Path) -> Path:
    """The product packages and pyproject.toml, copied; caches and tests left out."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_rule_fails_the_contracts(case: str, tmp_path: Path) -> None:
    tree = scratch_copy(tmp_path)
    path, body, contract = CASES[case]
    if case == "reconciler-kinds-depend":
        target = tree / "agent" / "reconcilers" / "tenant.py"
        target.write_text(target.read_text() + "\nfrom agent.reconcilers import bundle  # noqa\n")
    else:
        (tree / path).write_text(body)
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert contract in result.stdout.replace("\n", " ")
    assert "BROKEN" in result.stdout


def test_the_tree_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(scratch_copy(tmp_path))
    assert result.returncode == 0, result.stdout
