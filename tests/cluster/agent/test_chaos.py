"""The agent under failure, on the real local control plane: kill -9 mid-apply, etcd stopped for
30 s, kube-apiserver restarted, a watch forced to expire (410 Gone).

Each time every tenant converges to Ready with exactly its children (no duplicates, none lost),
the writes stay within 1.1x of a clean run's, and an agent over an in-sync cluster writes
nothing. Sized for `make test` on a small machine (N tenants per test, below); the full-size run
(N = 1,000) is `OUTPOST_CHAOS_N=1000 pytest tests/cluster/agent/test_chaos.py`.
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devcluster.chaos import restart_component, start_component, stop_component
from devcluster.cluster import ClusterState
from tests.cluster.agent.agentkit import Agent, Agents, Kubectl, tenant, unique, wait_for
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
N = int(os.environ.get("OUTPOST_CHAOS_N", "30"))
CHILDREN = "networkpolicy,resourcequota,rolebinding"
EXPECTED = Counter({"NetworkPolicy": 3, "ResourceQuota": 1, "RoleBinding": 1})
SLACK = 1.1


def fleet(kubectl: Kubectl, made: list[tuple[str, str]], count: int, tag: str) -> list[str]:
    names = [unique(f"{tag}{i}") for i in range(count)]
    made.extend(("tenant", name) for name in names)
    kubectl.apply(*(tenant(n, [n], quota={"hard": {"pods": "20"}},
                           owners=[{"kind": "Group", "name": "devs"}]) for n in names))  # fmt: skip
    return names


def ready(kubectl: Kubectl, names: list[str]) -> bool:
    items = {t["metadata"]["name"]: t for t in kubectl.items("tenants")}
    return all(
        any(c.get("type") == "Ready" and c.get("status") == "True"
            for c in (items.get(n, {}).get("status") or {}).get("conditions") or ())
        for n in names
    )  # fmt: skip


def converge(kubectl: Kubectl, names: list[str], timeout: float = 120 + N) -> None:
    wait_for(lambda: ready(kubectl, names), timeout, f"{len(names)} tenants to be Ready", 1.0)


def assert_exact_children(kubectl: Kubectl, names: list[str]) -> None:
    found: dict[str, Counter[str]] = {}
    for child in kubectl.items(CHILDREN, selector="outpost.dev/tenant"):
        found.setdefault(child["metadata"]["namespace"], Counter())[child["kind"]] += 1
    wrong = {n: found.get(n) for n in names if found.get(n) != EXPECTED}
    assert not wrong, wrong


def writes(agent: Agent) -> int:
    """The agent's writes for tenants: leaving out ConfigMaps, which tenants never make and the
    usage meter writes its checkpoint to on a clock of its own."""
    return sum(
        int(float(line.split()[-1]))
        for line in agent.write_lines()
        if 'resource="configmaps"' not in line
    )


def reconciles(agent: Agent) -> int:
    return sum(
        int(float(line.split()[-1]))
        for line in agent.metrics().splitlines()
        if line.startswith("outpost_reconcile_total{")
    )


def settle(agent: Agent) -> None:
    """Wait until the agent's queue is empty and its write count stops moving."""
    last = -1
    for _ in range(30):
        time.sleep(1.5)
        now = writes(agent)
        if now == last and agent.gauge("outpost_queue_depth") == 0:
            return
        last = now


@pytest.fixture(scope="module")
def clean_writes(
    cluster: Cluster, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[float]:
    """Writes per tenant of an undisturbed agent applying 10 tenants (the 1.1x reference)."""
    namespace = unique("chaos-clean")
    cluster.kubectl_run("create", "namespace", namespace)
    agents = Agents(cluster, namespace, tmp_path_factory.mktemp("clean"))
    made: list[tuple[str, str]] = []
    try:
        agent = agents.start("--resync", "600")
        names = fleet(kubectl, made, 10, "clean")
        converge(kubectl, names)
        settle(agent)
        yield writes(agent) / len(names)
        for _, name in made:
            kubectl.delete("tenant", name)
        wait_for(lambda: not [n for _, n in made if kubectl.get("tenant", n)], 90, "cleanup")
    finally:
        agents.stop_all()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def test_kill_9_mid_apply_converges_without_duplicates_or_extra_writes(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]], clean_writes: float
) -> None:
    first = agents.start("--resync", "600")
    names = fleet(kubectl, made, N, "kill")
    wait_for(lambda: writes(first) >= clean_writes * N / 3, 120, "a third of the writes")
    written = writes(first)
    first.kill()
    second = agents.start("--resync", "600")
    converge(kubectl, names)
    settle(second)
    assert_exact_children(kubectl, names)
    total = written + writes(second)
    assert total <= SLACK * clean_writes * N, (total, clean_writes * N)


def _disturbed(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]], tag: str, disturb: Any
) -> tuple[Agent, list[str]]:
    agent = agents.start("--resync", "600")
    names = fleet(kubectl, made, N // 2, tag)
    wait_for(lambda: writes(agent) > 0, 60, "the agent to start writing")
    disturb()
    converge(kubectl, names)
    settle(agent)
    assert agent.proc.poll() is None, agent.tail()
    assert_exact_children(kubectl, names)
    return agent, names


def test_etcd_stopped_for_30_s_then_started(
    cluster: Cluster, kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]],
    clean_writes: float,
) -> None:  # fmt: skip
    def outage() -> None:
        argv = stop_component(cluster.state_dir, "etcd")
        time.sleep(30)
        start_component(cluster.state_dir, "etcd", argv)

    agent, names = _disturbed(kubectl, agents, made, "etcd", outage)
    assert writes(agent) <= SLACK * clean_writes * len(names), agent.write_lines()


def test_kube_apiserver_restarted(
    cluster: Cluster, kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]],
    clean_writes: float,
) -> None:  # fmt: skip
    agent, names = _disturbed(
        kubectl,
        agents,
        made,
        "apis",
        lambda: restart_component(cluster.state_dir, "kube-apiserver"),
    )
    assert writes(agent) <= SLACK * clean_writes * len(names), agent.write_lines()


def terminating(kubectl: Kubectl) -> list[str]:
    spaces = kubectl.items("namespaces", selector="outpost.dev/tenant")
    return [n["metadata"]["name"] for n in spaces if n["metadata"].get("deletionTimestamp")]


def compact_etcd(state_dir: Any) -> None:
    """Move etcd's revision on and compact everything before it: old watch versions expire."""
    state = ClusterState.load(state_dir)
    assert state is not None
    url = f"http://127.0.0.1:{state.ports['etcd-client']}/v3"
    key = base64.b64encode(b"/outpost-chaos/tick").decode()
    revision = 0
    for _ in range(3):
        put = httpx.post(f"{url}/kv/put", json={"key": key, "value": key}, timeout=10)
        revision = int(put.json()["header"]["revision"])
    httpx.post(f"{url}/kv/compaction", json={"revision": revision, "physical": True}, timeout=30)


def test_a_watch_forced_to_expire_relists_without_a_reconcile_burst(
    cluster: Cluster, kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    # Namespaces of earlier tests' tenants still terminating would wake tenants meanwhile.
    wait_for(lambda: not terminating(kubectl), 120, "earlier tenants' namespaces to go", 1.0)
    # A Lease that outlives the API server's restart: a new term's level pass is not a relist.
    agent = agents.start("--resync", "600", env={"OUTPOST_LEASE_SECONDS": "120"})
    names = fleet(kubectl, made, N // 2, "gone")
    converge(kubectl, names)
    settle(agent)
    visits, written, lines = reconciles(agent), writes(agent), set(agent.write_lines())
    relists = agent.gauge('outpost_watch_relists_total{kind="Tenant"}')
    argv = stop_component(cluster.state_dir, "kube-apiserver")
    compact_etcd(cluster.state_dir)
    start_component(cluster.state_dir, "kube-apiserver", argv)
    wait_for(
        lambda: agent.gauge('outpost_watch_relists_total{kind="Tenant"}') > relists,
        90, "the Tenant watch to expire and relist",
    )  # fmt: skip
    settle(agent)
    # An in-sync cluster: nothing to write.
    assert writes(agent) == written, (set(agent.write_lines()) - lines, agent.tail())
    # No burst: a relist reports only the objects whose version moved meanwhile, and only
    # those are visited again (before, every relist visited every object).
    changed = agent.gauge("outpost_watch_relist_changes_total")
    assert reconciles(agent) - visits <= changed, (reconciles(agent), visits, changed)
    late = fleet(kubectl, made, 1, "late")  # the new watch delivers
    converge(kubectl, late, 60)
