"""Fixtures for the Bundle cluster tests: the agent's fixtures, an agent that trusts the test
vendor's keyring, and a `Lineage` (one unique product per test) cleaned up afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.agent.agentkit import Agent, Agents, Kubectl
from tests.cluster.agent.conftest import agents, kubectl
from tests.cluster.bundle.kit import Lineage
from tests.conftest import Cluster
from tests.unit.bundle.factory import vendor

__all__ = ["agents", "kubectl"]


@pytest.fixture
def lineage(cluster: Cluster, kubectl: Kubectl, namespace: str, tmp_path: Path) -> Lineage:
    return Lineage(cluster, kubectl, vendor(), f"p{uuid.uuid4().hex[:8]}", namespace, tmp_path)


@pytest.fixture
def agent(agents: Agents, lineage: Lineage, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    """An agent trusting the test vendor; the test's objects are deleted while it still runs
    (Tenants keep a finalizer that only the agent removes)."""
    monkeypatch.setenv("OUTPOST_TRUST_ROOT", str(lineage.trust))
    yield agents.start()
    lineage.cleanup()
