"""Session fixtures: one real control plane on loopback per test session, a namespace per test.

The control plane is started by the same code as `outpost dev up` (binaries are built on first
use), in a private state directory, and stopped at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from devcluster import build
from devcluster import cluster as control_plane


@dataclass(frozen=True)
class Cluster:
    """What a test needs to talk to the local control plane."""

    kubeconfig: Path
    server: str
    bin_dir: Path
    state_dir: Path

    @property
    def kubectl(self) -> Path:
        return self.bin_dir / "kubectl"

    @property
    def helm(self) -> Path:
        return self.bin_dir / "helm"

    @property
    def helm3(self) -> Path:
        return self.bin_dir / "helm3"

    @property
    def env(self) -> dict[str, str]:
        path = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": path}

    def kubectl_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.kubectl), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc


@pytest.fixture(scope="session")
def cluster_bins() -> build.BinDir:
    return build.ensure_binaries(Console(stderr=True))


@pytest.fixture(scope="session")
def cluster(
    cluster_bins: build.BinDir, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """The session's control plane. `OUTPOST_TEST_STATE_DIR=<dir>` reuses (or starts and leaves
    running) the one of that state directory, for fast iteration with `outpost dev up`."""
    console = Console(stderr=True)
    existing = os.environ.get("OUTPOST_TEST_STATE_DIR")
    state_dir = Path(existing) if existing else tmp_path_factory.mktemp("control-plane")
    state = control_plane.up(state_dir, console)
    try:
        yield Cluster(state.kubeconfig, state.server, Path(state.bin_dir), state_dir)
    finally:
        if not existing:
            control_plane.down(state_dir, console)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", name)
    yield name
    cluster.kubectl_run("delete", "namespace", name, "--wait=false", check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests under tests/cluster need the control plane whether or not they say so.
    for item in items:
        if "tests/cluster/" in str(item.fspath) and "cluster" not in item.keywords:
            item.add_marker(pytest.mark.cluster)
