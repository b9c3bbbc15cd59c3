"""Clean shutdown (issue 11, finding 12): SIGTERM to a leading agent that has work in flight
(a Helm install running) ends it promptly with exit 0, no asyncio complaint in its log."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.cluster.agent.agentkit import Agents, Kubectl, helm_app, tenant, unique, wait_for

pytestmark = pytest.mark.cluster
NOISE = ("never retrieved", "Task was destroyed but it is pending", "Traceback")


def test_sigterm_stops_the_agent_cleanly_and_quickly(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agent = agents.start()
    wait_for(agent.is_leader, 60, "leadership")
    owner, ns = unique("stop"), unique("stop-a")
    made.append(("tenant", owner))
    kubectl.apply(tenant(owner, [ns]))
    kubectl.run("wait", "--for=condition=Ready", f"tenant/{owner}", "--timeout=60s")
    app = unique("stop-app")
    made.append(("application", app))
    kubectl.apply(helm_app(app, owner, ns))
    time.sleep(1.0)  # the install is under way
    started = time.monotonic()
    os.killpg(agent.proc.pid, signal.SIGTERM)
    code = agent.proc.wait(timeout=30)
    took = time.monotonic() - started
    log = agent.log.read_text(errors="replace")
    print(f"SIGTERM to exit: {took:.2f}s")
    assert code == 0, agent.tail()
    assert not [line for line in log.splitlines() if any(n in line for n in NOISE)], agent.tail()
    assert took < 4.0, f"shutdown took {took:.1f}s"  # the old agent sat 5 s on a stuck task
    agents.start()  # the app's finalizer is released by a running agent at teardown
