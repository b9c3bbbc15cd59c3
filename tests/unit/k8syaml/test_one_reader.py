"""Nothing outside k8syaml imports a YAML library: every package, test, example and benchmark.

A source scan (not an import graph) so that it covers tests, examples and bench too and needs
no list of packages kept in step with the layout.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SKIP = {".venv", ".git", "build", "node_modules", "k8syaml"}
LIBRARIES = {"yaml", "ruamel", "strictyaml", "oyaml"}


def _sources() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if not SKIP.intersection(parts) and not parts[0].startswith("."):
            found.append(path)
    return found


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_k8syaml_imports_a_yaml_library() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(LIBRARIES & _imported(path))}"
        for path in _sources()
        if LIBRARIES & _imported(path)
    ]
    assert offenders == [], "read YAML with k8syaml instead:\n" + "\n".join(offenders)


def test_the_scan_sees_the_project() -> None:
    scanned = {path.relative_to(ROOT).parts[0] for path in _sources()}
    assert {"agent", "bundle", "airgap", "devcluster", "tests", "bench"} <= scanned
