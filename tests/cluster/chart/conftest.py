"""Chart tests' `cluster` fixture.

Works around tests/conftest.py, whose `cluster` fixture shadows the `devcluster.cluster` module it
calls (`cluster.up` then resolves to the fixture). Same behaviour, the module under another name;
delete this file once the root fixture imports `devcluster.cluster` under a different name.

`OUTPOST_TEST_STATE_DIR=<dir>` reuses (or starts and leaves running) the control plane of that
state directory, e.g. one started with `OUTPOST_DEV_STATE_DIR=<dir> outpost dev up`, so chart
tests can be iterated on without a cold start each run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from devcluster import build
from devcluster import cluster as control_plane
from tests.conftest import Cluster


@pytest.fixture(scope="session")
def cluster(
    cluster_bins: build.BinDir, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    console = Console(stderr=True)
    existing = os.environ.get("OUTPOST_TEST_STATE_DIR")
    state_dir = Path(existing) if existing else tmp_path_factory.mktemp("control-plane")
    state = control_plane.up(state_dir, console)
    try:
        yield Cluster(state.kubeconfig, state.server, Path(state.bin_dir), state_dir)
    finally:
        if not existing:
            control_plane.down(state_dir, console)
