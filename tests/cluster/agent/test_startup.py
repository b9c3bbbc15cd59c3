"""Starting the agent: a namespace that does not exist is refused at once with one line saying
how to create it; `--create-namespace` creates it and the agent runs."""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace

import pytest

from tests.cluster.agent.agentkit import Agents, Kubectl, free_port, unique

pytestmark = pytest.mark.cluster


def test_a_missing_namespace_exits_2_within_10_s_naming_it(agents: Agents) -> None:
    missing = unique("no-such-ns")
    argv = replace(agents, namespace=missing).command(free_port(), unique("agent"))
    started = time.monotonic()
    proc = subprocess.run(
        argv, env=agents.env(), capture_output=True, text=True, timeout=30, check=False
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert elapsed < 10, elapsed
    lines = [line for line in proc.stderr.splitlines() if missing in line]
    assert len(lines) == 1, proc.stderr
    assert f"kubectl create namespace {missing}" in lines[0]
    assert "--create-namespace" in lines[0]


def test_create_namespace_creates_it_and_runs(agents: Agents, kubectl: Kubectl) -> None:
    missing = unique("made-ns")
    try:
        agent = replace(agents, namespace=missing, started=agents.started).start(
            "--create-namespace"
        )
        assert kubectl.get("namespace", missing) is not None
        assert agent.healthz() == 200
    finally:
        kubectl.delete("namespace", missing)
