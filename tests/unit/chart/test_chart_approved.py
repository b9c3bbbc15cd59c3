"""Rights on the cluster-scoped objects the customer approves (`rbac.clusterScoped`): exactly
the named objects, one rule per kind, bound to the agent's ServiceAccount; a kind the chart
cannot map fails the render with a clear message. `helm template` is the oracle; the can-i
matrix in tests/cluster/chart proves the rights on a real API server.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.chart.chart import find, render, template

NAME = "outpost-agent-approved"
VERBS = ["get", "create", "patch", "update", "delete"]


def approving(*items: str) -> tuple[str, str]:
    return ("--set", "rbac.clusterScoped={" + ",".join(items) + "}")


def test_approved_names_get_exactly_their_rights(helm4: Path) -> None:
    docs = template(
        helm4,
        *approving(
            "ClusterRole/acme-controller",
            "IngressClass/acme",
            "ClusterRole/acme-view",
            "PriorityClass/acme-high",
            "StorageClass/acme-fast",
            "ClusterRoleBinding/acme-controller",
        ),
    )
    (role,) = find(docs, "ClusterRole", NAME)
    rules = {(r["apiGroups"][0], r["resources"][0]): r for r in role["rules"]}
    assert {k: sorted(r["resourceNames"]) for k, r in rules.items()} == {
        ("rbac.authorization.k8s.io", "clusterroles"): ["acme-controller", "acme-view"],
        ("rbac.authorization.k8s.io", "clusterrolebindings"): ["acme-controller"],
        ("networking.k8s.io", "ingressclasses"): ["acme"],
        ("scheduling.k8s.io", "priorityclasses"): ["acme-high"],
        ("storage.k8s.io", "storageclasses"): ["acme-fast"],
    }
    assert all(r["verbs"] == VERBS and len(r["apiGroups"]) == 1 for r in role["rules"])
    (binding,) = find(docs, "ClusterRoleBinding", NAME)
    assert binding["roleRef"]["name"] == NAME
    sa = {"kind": "ServiceAccount", "name": "outpost-agent", "namespace": "outpost-system"}
    assert binding["subjects"] == [sa]


def test_nothing_approved_renders_no_role(helm4: Path) -> None:
    assert not find(template(helm4), "ClusterRole", NAME)
    docs = template(helm4, *approving("IngressClass/acme"), "--set", "rbac.create=false")
    assert not find(docs, "ClusterRole", NAME)
    assert not find(docs, "ClusterRoleBinding", NAME)


def test_an_unknown_kind_fails_the_render(helm4: Path) -> None:
    proc = render(helm4, *approving("IngressClass/acme", "Node/worker-1"))
    assert proc.returncode != 0
    assert "rbac.clusterScoped: Node/worker-1" in proc.stderr
    assert "cannot grant rights on kind Node" in proc.stderr
    proc = render(helm4, *approving("CustomResourceDefinition/widgets.acme.example"))
    assert proc.returncode != 0
    assert "rbac.bundleCRDs" in proc.stderr
