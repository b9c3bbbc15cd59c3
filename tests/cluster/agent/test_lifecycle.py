"""The agent process on the real control plane: kill -9 mid-reconcile then restart converges with
no duplicates; a restart over a converged cluster writes nothing; of two replicas only one acts
and the other takes over when the leader dies; /healthz answers."""

from __future__ import annotations

import time

import pytest

from tests.cluster.agent.agentkit import Agent, Agents, Kubectl, helm_app, tenant, unique, wait_for

pytestmark = pytest.mark.cluster
CHILD_KINDS = "networkpolicy,resourcequota,rolebinding"


def _all_ready(kubectl: Kubectl, objs: list[tuple[str, str]], timeout: float = 120) -> None:
    for kind, name in objs:
        proc = kubectl.run(
            "wait",
            "--for=condition=Ready",
            f"{kind}/{name}",
            f"--timeout={timeout:.0f}s",
            check=False,
        )
        assert proc.returncode == 0, (kind, name, kubectl.get(kind, name))


def _fleet(kubectl: Kubectl, made: list[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    """`count` tenants with one namespace and quota, plus a Helm app in the first."""
    objs, specs = [], []
    for i in range(count):
        name = unique(f"fleet{i}")
        specs.append(
            tenant(
                name,
                [name],
                quota={"hard": {"pods": "20"}},
                owners=[{"kind": "Group", "name": "devs"}],
            )
        )
        objs.append(("tenant", name))
    app = unique("fleetapp")
    specs.append(helm_app(app, objs[0][1], objs[0][1], {"replicas": 1}))
    objs.append(("application", app))
    made.extend(objs)
    kubectl.apply(*specs)
    return objs


def _versions(kubectl: Kubectl, objs: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for kind, name in objs:
        out[f"{kind}/{name}"] = kubectl.get(kind, name)["metadata"]["resourceVersion"]
        if kind == "tenant":
            for child in kubectl.items(CHILD_KINDS, name):
                out[f"{child['kind']}/{name}/{child['metadata']['name']}"] = child["metadata"][
                    "resourceVersion"
                ]
    return out


def test_kill_9_mid_reconcile_then_restart_converges_without_duplicates(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    first = agents.start()
    objs = _fleet(kubectl, made, 6)
    wait_for(
        lambda: first.gauge("outpost_queue_busy") > 0 or first.writes() > 3, 30, "work under way"
    )
    first.kill()
    agents.start()
    _all_ready(kubectl, objs)
    for _, name in [o for o in objs if o[0] == "tenant"]:
        kinds = sorted(c["kind"] for c in kubectl.items(CHILD_KINDS, name))
        assert kinds == ["NetworkPolicy"] * 3 + ["ResourceQuota", "RoleBinding"], kinds
    app_ns = objs[0][1]
    releases = kubectl.items("secret", app_ns, "owner=helm")
    statuses = [r["metadata"]["labels"]["status"] for r in releases]
    assert statuses.count("deployed") == 1
    assert not [s for s in statuses if s.startswith("pending")]
    assert len(kubectl.items("deployment", app_ns)) == 1


def test_restart_over_a_converged_cluster_writes_nothing(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    first = agents.start()
    objs = _fleet(kubectl, made, 4)
    _all_ready(kubectl, objs)
    time.sleep(3)  # let the last health re-checks land
    first.stop()
    before = _versions(kubectl, objs)
    second = agents.start()
    wait_for(second.is_leader, 30, "the new agent to lead")
    wait_for(lambda: _visits(second) >= len(objs), 60, "every object to be visited once")
    time.sleep(3)
    assert second.writes() == 0, (second.write_lines(), second.tail())
    assert _versions(kubectl, objs) == before


def _visits(agent: Agent) -> int:
    total = 0
    for line in agent.metrics().splitlines():
        if line.startswith("outpost_reconcile_total{") and (
            'kind="Tenant"' in line or 'kind="Application"' in line
        ):
            total += int(float(line.split()[-1]))
    return total


def test_two_replicas_only_one_acts_and_the_other_takes_over(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    a, b = agents.start(), agents.start()
    wait_for(lambda: a.is_leader() or b.is_leader(), 30, "a leader")
    time.sleep(2)
    leader, standby = (a, b) if a.is_leader() else (b, a)
    assert not standby.is_leader()
    objs = _fleet(kubectl, made, 2)[:2]
    _all_ready(kubectl, objs)
    assert standby.writes() == 0
    assert leader.healthz() == 200
    assert standby.healthz() == 200
    leader.kill()
    wait_for(standby.is_leader, 30, "the standby to take over")
    late = unique("late")
    made.append(("tenant", late))
    kubectl.apply(tenant(late, [late]))
    _all_ready(kubectl, [("tenant", late)])
