"""Tenants on the real control plane: isolation objects, `kubectl wait`, drift repair in seconds,
prune, deletion order with Applications, and specs that cannot be honoured."""

from __future__ import annotations

import time

import pytest

from tests.cluster.agent.agentkit import Agents, Kubectl, manifest_app, tenant, unique, wait_for

pytestmark = pytest.mark.cluster
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}


def _ready(kubectl: Kubectl, kind: str, name: str, timeout: float = 60) -> None:
    proc = kubectl.run(
        "wait", "--for=condition=Ready", f"{kind}/{name}", f"--timeout={timeout:.0f}s", check=False
    )
    assert proc.returncode == 0, (proc.stderr, kubectl.get(kind, name))


def test_tenant_gets_isolated_namespaces_and_kubectl_wait_works(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    name, ns = unique("iso"), [unique("iso-a"), unique("iso-b")]
    made.append(("tenant", name))
    kubectl.apply(
        tenant(
            name,
            ns,
            quota={"hard": {"pods": "10"}},
            podSecurity={"level": "restricted"},
            limitRange={"default": {"cpu": "500m"}},
            owners=[{"kind": "Group", "name": "devs"}],
        )
    )
    _ready(kubectl, "tenant", name)
    for namespace in ns:
        labels = (kubectl.get("namespace", namespace) or {})["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["outpost.dev/tenant"] == name
        policies = {p["metadata"]["name"] for p in kubectl.items("networkpolicy", namespace)}
        assert "outpost-default-deny" in policies
        assert (
            kubectl.get("resourcequota", "outpost-quota", namespace)["spec"]["hard"]["pods"] == "10"
        )
        assert kubectl.get("limitrange", "outpost-limits", namespace)
        assert (
            kubectl.get("rolebinding", "outpost-owners", namespace)["subjects"][0]["name"] == "devs"
        )


def test_hand_made_drift_is_repaired_within_seconds_and_dropped_namespaces_are_pruned(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    name, ns = unique("drift"), [unique("drift-a"), unique("drift-b")]
    made.append(("tenant", name))
    kubectl.apply(tenant(name, ns, quota={"hard": {"pods": "10"}}))
    _ready(kubectl, "tenant", name)
    started = time.monotonic()
    kubectl.delete("networkpolicy", "outpost-default-deny", ns[0])
    wait_for(lambda: kubectl.get("networkpolicy", "outpost-default-deny", ns[0]), 10, "policy back")
    kubectl.run(
        "patch",
        "resourcequota",
        "outpost-quota",
        "-n",
        ns[0],
        "--type=merge",
        "-p",
        '{"spec":{"hard":{"pods":"99"}}}',
    )
    wait_for(
        lambda: (
            kubectl.get("resourcequota", "outpost-quota", ns[0])["spec"]["hard"]["pods"] == "10"
        ),
        10,
        "quota restored",
    )
    assert time.monotonic() - started < 20
    kubectl.apply(tenant(name, ns[:1], quota={"hard": {"pods": "10"}}))
    wait_for(
        lambda: (
            (kubectl.get("namespace", ns[1]) or {"status": {"phase": "Terminating"}})["status"].get(
                "phase"
            )
            == "Terminating"
        ),
        30,
        "dropped namespace pruned",
    )
    _ready(kubectl, "tenant", name)


def test_deleting_a_tenant_waits_for_its_applications(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    name, ns, app = unique("del"), unique("del-a"), unique("del-app")
    made.extend([("tenant", name), ("application", app)])
    kubectl.apply(tenant(name, [ns]), manifest_app(app, name, ns, [CM]))
    _ready(kubectl, "application", app)
    kubectl.delete("tenant", name)
    wait_for(
        lambda: kubectl.condition("tenant", name).get("reason") == "WaitingForApplications",
        30,
        "tenant to wait for its application",
    )
    assert kubectl.get("configmap", "settings", ns)
    assert (kubectl.get("namespace", ns) or {})["status"]["phase"] == "Active"
    kubectl.delete("application", app)
    wait_for(lambda: kubectl.get("application", app) is None, 30, "application gone")
    wait_for(lambda: kubectl.get("tenant", name) is None, 30, "tenant gone after its application")


def test_specs_that_cannot_be_honoured_stall_with_a_reason_and_apply_nothing(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    foreign, claimed, orphan = unique("foreign"), unique("claim"), unique("orphan")
    kubectl.run("create", "namespace", foreign)
    made.extend([("tenant", claimed), ("application", orphan)])
    kubectl.apply(tenant(claimed, [foreign]), manifest_app(orphan, unique("nobody"), "x", [CM]))
    for kind, obj, reason in (
        ("tenant", claimed, "NamespaceConflict"),
        ("application", orphan, "TenantNotFound"),
    ):
        wait_for(
            lambda k=kind, o=obj: kubectl.condition(k, o, "Stalled").get("reason"),
            30,
            f"{obj} stalled",
        )
        assert kubectl.condition(kind, obj, "Stalled")["reason"] == reason
        assert kubectl.condition(kind, obj)["status"] == "False"
    assert kubectl.items("networkpolicy", foreign) == []
    kubectl.run("delete", "namespace", foreign, "--wait=false")


def test_quota_below_usage_stalls_and_keeps_the_old_quota(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    name, ns = unique("quota"), unique("quota-a")
    made.append(("tenant", name))
    kubectl.apply(tenant(name, [ns], quota={"hard": {"pods": "10"}}))
    _ready(kubectl, "tenant", name)
    for i in range(2):
        kubectl.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p{i}", "namespace": ns},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
            }
        )
    wait_for(
        lambda: (
            kubectl.get("resourcequota", "outpost-quota", ns)
            .get("status", {})
            .get("used", {})
            .get("pods")
            == "2"
        ),
        60,
        "quota usage to show 2 pods",
    )
    kubectl.apply(tenant(name, [ns], quota={"hard": {"pods": "1"}}))
    wait_for(
        lambda: kubectl.condition("tenant", name, "Stalled").get("reason") == "QuotaBelowUsage",
        30,
        "QuotaBelowUsage",
    )
    assert kubectl.get("resourcequota", "outpost-quota", ns)["spec"]["hard"]["pods"] == "10"
