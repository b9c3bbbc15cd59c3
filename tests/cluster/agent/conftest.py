"""Fixtures for the agent's cluster tests: CRDs installed once, agents started per test.

`OUTPOST_TEST_STATE_DIR=<dir>` points the tests at a control plane already started with
`outpost dev up --state-dir <dir>` (fast iteration); otherwise the session's `cluster` fixture
starts one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.agent.agentkit import CRDS, Agents, Kubectl
from tests.conftest import Cluster


@pytest.fixture(scope="session")
def kubectl(cluster: Cluster) -> Kubectl:
    kubectl = Kubectl(cluster)
    kubectl.run("apply", "-f", str(CRDS))
    kubectl.run("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    return kubectl


@pytest.fixture
def agents(cluster: Cluster, kubectl: Kubectl, namespace: str, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(cluster, namespace, tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def made(kubectl: Kubectl, agents: Agents) -> Iterator[list[tuple[str, str]]]:
    """(kind, name) of Outpost objects a test creates: deleted while its agent still runs."""
    objects: list[tuple[str, str]] = []
    yield objects
    for kind, name in reversed(objects):
        kubectl.delete(kind, name)
    for kind, name in reversed(objects):
        kubectl.run("wait", "--for=delete", f"{kind}/{name}", "--timeout=60s", check=False)
