"""Fixtures for `outpost airgap import` against a real registry and the real control plane.

The registry fixtures are the ones of `tests/registry` (imported here so both suites share one
definition); CRDs are installed once; every Bundle a test creates is deleted afterwards.
`OUTPOST_TEST_STATE_DIR=<dir>` reuses a control plane started with `outpost dev up`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.agent.agentkit import CRDS, Kubectl, unique
from tests.cluster.airgap.kit import SampleKeys, Site, make_keys
from tests.conftest import Cluster
from tests.registry.conftest import registry, skopeo, tls_registry  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def kubectl(cluster: Cluster) -> Kubectl:
    kubectl = Kubectl(cluster)
    kubectl.run("apply", "-f", str(CRDS))
    kubectl.run("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    return kubectl


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> SampleKeys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def site(
    cluster: Cluster, kubectl: Kubectl, keys: SampleKeys, namespace: str, tmp_path: Path
) -> Iterator[Site]:
    """A product name of its own per test (Bundle names and rollback lineage are per product)."""
    product = unique("airgap")
    yield Site(cluster, kubectl, keys, product, namespace, tmp_path)
    kubectl.run("delete", "bundles", "-l", f"outpost.dev/product={product}", "--wait=false")
