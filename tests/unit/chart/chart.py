"""Running helm against charts/outpost-agent for the chart tests: render, lint, parse.

I/O: runs the helm binaries the local control plane build produced (`devcluster.build`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8syaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "outpost-agent"
FULL_VALUES = Path(__file__).resolve().parent / "full-values.yaml"
# Offline renders are given the API server's address (the chart cannot look it up without a
# cluster); a later `-f` or `--set` still overrides it.
OFFLINE_VALUES = Path(__file__).resolve().parent / "offline-values.yaml"
RELEASE, NAMESPACE = "outpost-agent", "outpost-system"
RBAC_KINDS = ("ClusterRole", "Role")


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=False, timeout=120
    )


def render(helm: Path, *args: str, offline: bool = True) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart, given the API server's address unless `offline` is False."""
    given = ["-f", str(OFFLINE_VALUES)] if offline else []
    return run_helm(helm, "template", RELEASE, str(CHART), "-n", NAMESPACE, *given, *args)


def template(helm: Path, *args: str, offline: bool = True) -> list[dict[str, Any]]:
    """Render the chart; every non-empty document, parsed."""
    proc = render(helm, *args, offline=offline)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in k8syaml.load_all(proc.stdout) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]


def rbac_rules(docs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(role document, rule) for every rule of every Role and ClusterRole."""
    for doc in docs:
        if doc["kind"] in RBAC_KINDS:
            for rule in doc.get("rules") or []:
                yield doc, rule


def leaf_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf of a values tree (empty maps count as leaves)."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, f"{path}.")
        else:
            yield path
