"""Fixtures of the chart unit tests: the Helm 4 and Helm 3 binaries, or a skip with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster import build
from devcluster.errors import DevClusterError


def _bin(name: str) -> Path:
    try:
        bins = build.find_binaries()
    except DevClusterError as exc:
        pytest.skip(f"no Go toolchain to locate the helm binaries: {exc}")
    if bins is None:
        pytest.skip("helm binaries not built yet: run `outpost dev build` (or any cluster test)")
    return bins[name]


@pytest.fixture(scope="session")
def helm4() -> Path:
    return _bin("helm")


@pytest.fixture(scope="session")
def helm3() -> Path:
    return _bin("helm3")


@pytest.fixture(scope="session", params=["helm", "helm3"])
def any_helm(request: pytest.FixtureRequest) -> Path:
    return _bin(str(request.param))
