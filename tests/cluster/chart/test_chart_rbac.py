"""The chart's RBAC and admission policy, proven as the agent: a token minted (TokenRequest) for
the chart's ServiceAccount, then `kubectl auth can-i` and real requests with that token.

The whole can-i matrix is written as a Markdown table to `$OUTPOST_CAN_I_MATRIX` when set.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cluster.chart.release import (
    Release,
    apply_crds,
    as_agent,
    eventually,
    install,
    new_release_name,
    token_kubeconfig,
)
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
POLICY_DENIAL = "ValidatingAdmissionPolicy"


@dataclass
class Scenario:
    """The installed release, the agent's kubeconfig, the namespaces used and the results."""

    cluster: Cluster
    release: Release
    kubeconfig: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    rows: list[tuple[str, str, bool, bool]] = field(default_factory=list)

    @property
    def own_ns(self) -> str:
        return self.release.namespace

    @property
    def tenant_ns(self) -> str:
        return f"tenant-{self.suffix}"

    @property
    def foreign_ns(self) -> str:
        return f"foreign-{self.suffix}"

    def agent(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return as_agent(self.cluster, self.kubeconfig, *args, stdin=stdin)

    def record(self, what: str, expected: bool, proc: subprocess.CompletedProcess[str]) -> None:
        """Records a real request made as the agent (allowed = exit 0)."""
        self.rows.append(("real request as the agent", what, expected, proc.returncode == 0))

    def can_i(self, phase: str, question: str, expected: bool) -> bool:
        """`kubectl auth can-i <question>` as the agent; records the row and returns the answer."""
        proc = self.agent("auth", "can-i", *question.split())
        answer = proc.stdout.strip() == "yes"
        self.rows.append((phase, question, expected, answer))
        return answer


@pytest.fixture(scope="module")
def scenario(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    namespace = f"oa-rbac-{uuid.uuid4().hex[:6]}"
    cluster.kubectl_run("create", "namespace", namespace)
    release = Release(new_release_name(), namespace, cluster.helm)
    # The CRDs come from kubectl here (they are cluster-wide and other releases may own them):
    # can-i resolves outpost.dev kinds through discovery.
    apply_crds(cluster)
    install(cluster, release, "--set", "crds.enabled=false")
    kubeconfig = token_kubeconfig(cluster, release, tmp_path_factory.mktemp("sa") / "agent.yaml")
    found = Scenario(cluster, release, kubeconfig)
    cluster.kubectl_run("create", "namespace", found.foreign_ns)
    yield found
    _write_matrix(found)
    subprocess.run(
        [str(release.helm), "uninstall", release.name, "-n", namespace],
        env=cluster.env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    for ns in (found.tenant_ns, found.foreign_ns, namespace):
        cluster.kubectl_run(
            "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
        )


def _write_matrix(scenario: Scenario) -> None:
    target = os.environ.get("OUTPOST_CAN_I_MATRIX")
    if not target:
        return
    r = scenario.release
    lines = [
        "# can-i matrix of the outpost-agent chart's ServiceAccount",
        "",
        f"Release `{r.name}` in `{r.namespace}`; ServiceAccount `{r.service_account}`; token from "
        "TokenRequest (`kubectl create token`); `kubectl auth can-i` with a bearer-token "
        f"kubeconfig. `{scenario.tenant_ns}` = namespace labelled `outpost.dev/tenant` and "
        f"bound by the agent; `{scenario.foreign_ns}` = a namespace of no tenant; `{r.namespace}`"
        " = the agent's own namespace.",
        "",
        "| phase | can-i | expected | actual | ok |",
        "|---|---|---|---|---|",
    ]
    for phase, question, expected, answer in scenario.rows:
        ok = "✓" if expected == answer else "✗"
        yes_no = {True: "yes", False: "no"}
        lines.append(f"| {phase} | `{question}` | {yes_no[expected]} | {yes_no[answer]} | {ok} |")
    Path(target).write_text("\n".join(lines) + "\n")


def _cluster_rows(s: Scenario) -> list[tuple[str, bool]]:
    own, foreign, tenant_role = s.own_ns, s.foreign_ns, s.release.tenant_role
    return [
        ("list tenants.outpost.dev", True),
        ("create tenants.outpost.dev", True),
        ("patch tenants.outpost.dev --subresource=status", True),
        ("update applications.outpost.dev --subresource=finalizers", True),
        ("delete bundles.outpost.dev", True),
        ("watch dataplanes.outpost.dev", True),
        ("list namespaces", True),
        ("create namespaces", True),
        (f"delete namespaces/{foreign} -n {foreign}", False),
        (f"patch namespaces/{foreign} -n {foreign}", False),
        ("list nodes", True),
        ("patch nodes", False),
        ("list customresourcedefinitions.apiextensions.k8s.io", True),
        ("create customresourcedefinitions.apiextensions.k8s.io", False),
        (f"create events -n {foreign}", True),
        (f"create events.events.k8s.io -n {foreign}", True),
        ("get secrets -A", False),
        ("list secrets -A", False),
        ("get secrets -n kube-system", False),
        ("get secrets -n default", False),
        (f"list secrets -n {own}", False),
        (f"get secrets/outpost-agent-identity -n {own}", True),
        (f"get secrets/another-secret -n {own}", False),
        (f"create secrets -n {own}", True),
        (f"get secrets -n {foreign}", False),
        (f"get configmaps/outpost-agent-spool -n {own}", True),
        (f"get configmaps -n {foreign}", False),
        (f"update leases.coordination.k8s.io/outpost-agent -n {own}", True),
        (f"update leases.coordination.k8s.io/another-lease -n {own}", False),
        ("escalate clusterroles", False),
        (f"escalate roles -n {foreign}", False),
        ("impersonate users", False),
        ("impersonate groups", False),
        ("impersonate serviceaccounts -n kube-system", False),
        ("bind clusterroles/cluster-admin", False),
        ("bind clusterroles/admin", True),
        (f"bind clusterroles/{tenant_role}", True),
        ("create clusterroles", False),
        ("create clusterrolebindings", False),
        (f"create rolebindings -n {foreign}", True),  # RBAC yes; the admission policy refuses
        (f"delete rolebindings -n {foreign}", False),
        (f"create deployments.apps -n {foreign}", False),
        ("create deployments.apps -n kube-system", False),
        (f"create pods -n {foreign}", False),
        # Cluster-wide reads of watched children (rbac.clusterWideWatch); never Secrets.
        ("list configmaps -A", True),
        ("watch leases.coordination.k8s.io -A", True),
        ("watch deployments.apps -A", True),
        (f"create serviceaccounts --subresource=token -n {own}", False),
        ("delete validatingadmissionpolicies.admissionregistration.k8s.io", False),
    ]


def _tenant_rows(s: Scenario) -> list[tuple[str, bool]]:
    tenant, foreign = s.tenant_ns, s.foreign_ns
    return [
        (f"patch namespaces/{tenant} -n {tenant}", True),
        (f"delete namespaces/{tenant} -n {tenant}", True),
        (f"create deployments.apps -n {tenant}", True),
        (f"create statefulsets.apps -n {tenant}", True),
        (f"create jobs.batch -n {tenant}", True),
        (f"create services -n {tenant}", True),
        (f"create networkpolicies.networking.k8s.io -n {tenant}", True),
        (f"create resourcequotas -n {tenant}", True),
        (f"create limitranges -n {tenant}", True),
        (f"create rolebindings -n {tenant}", True),
        (f"create secrets -n {tenant}", True),
        (f"get secrets -n {tenant}", True),
        (f"list pods -n {tenant}", True),
        (f"create pods -n {tenant}", False),
        (f"create replicasets.apps -n {tenant}", False),
        (f"escalate roles -n {tenant}", False),
        (f"bind clusterroles/cluster-admin -n {tenant}", False),
        (f"create deployments.apps -n {foreign}", False),
        (f"get secrets -n {foreign}", False),
        (f"patch namespaces/{foreign} -n {foreign}", False),
    ]


def _check(s: Scenario, phase: str, rows: list[tuple[str, bool]]) -> None:
    wrong = [q for q, expected in rows if s.can_i(phase, q, expected) != expected]
    assert not wrong, f"can-i answers differ from the design: {wrong}"


def _namespace(name: str, label: str | None) -> str:
    labels = f"\n  labels: {{{label}}}" if label else ""
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}{labels}\n"


def _role_binding(ns: str, name: str, role: str, subject: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {{name: {name}, namespace: {ns}}}
        roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}
        subjects: [{subject}]
        """)


def _bootstrap(s: Scenario) -> None:
    """What the agent does for a new tenant namespace: create it labelled, then bind itself."""
    label = f"outpost.dev/tenant: t-{s.suffix}"
    created = eventually(lambda: s.agent("create", "-f", "-", stdin=_namespace(s.tenant_ns, label)))
    s.record(f"create Namespace {s.tenant_ns} labelled outpost.dev/tenant", True, created)
    assert created.returncode == 0, created.stderr
    sa = f"{{kind: ServiceAccount, name: {s.release.service_account}, namespace: {s.own_ns}}}"
    binding = _role_binding(s.tenant_ns, "outpost-agent", s.release.tenant_role, sa)
    bound = eventually(lambda: s.agent("create", "-f", "-", stdin=binding))
    s.record(f"create RoleBinding outpost-agent in {s.tenant_ns}", True, bound)
    assert bound.returncode == 0, bound.stderr
    # RBAC caches take a moment: wait until the binding is in effect.
    eventually(lambda: s.agent("auth", "can-i", "create", "deployments.apps", "-n", s.tenant_ns))


@pytest.fixture(scope="module")
def bound(scenario: Scenario) -> Scenario:
    _bootstrap(scenario)
    return scenario


def test_cluster_wide_rights_match_the_design(scenario: Scenario) -> None:
    _check(scenario, "before any tenant", _cluster_rows(scenario))


def test_policy_refuses_unlabelled_namespace_from_the_agent(scenario: Scenario) -> None:
    name = f"unlabelled-{scenario.suffix}"
    proc = eventually(
        lambda: scenario.agent("create", "-f", "-", stdin=_namespace(name, None)), want_ok=False
    )
    scenario.record(f"create Namespace {name} without label (policy)", False, proc)
    assert proc.returncode != 0
    assert POLICY_DENIAL in proc.stderr
    assert "outpost.dev/tenant" in proc.stderr


def test_policy_refuses_agent_rolebinding_in_foreign_namespace(scenario: Scenario) -> None:
    sa = f"{{kind: ServiceAccount, name: {scenario.release.service_account}, "
    sa += f"namespace: {scenario.own_ns}}}"
    doc = _role_binding(scenario.foreign_ns, "outpost-agent", scenario.release.tenant_role, sa)
    proc = eventually(lambda: scenario.agent("create", "-f", "-", stdin=doc), want_ok=False)
    scenario.record(f"create RoleBinding in {scenario.foreign_ns} (policy)", False, proc)
    assert proc.returncode != 0
    assert POLICY_DENIAL in proc.stderr
    # The same binding made by an administrator is not the policy's business.
    cluster = scenario.cluster
    admin = as_agent(
        cluster, cluster.kubeconfig, "create", "--dry-run=server", "-f", "-", stdin=doc
    )
    assert admin.returncode == 0, admin.stderr


def test_agent_gets_tenant_rights_only_where_it_bound_itself(bound: Scenario) -> None:
    _check(bound, "after the agent's RoleBinding in the tenant namespace", _tenant_rows(bound))


def test_namespace_rights_follow_rolebindings_inside_the_namespace(bound: Scenario) -> None:
    # Real requests, not can-i: RBAC authorizes a request on Namespace X by the bindings in X.
    patch = ["--type=merge", "-p", '{"metadata":{"annotations":{"outpost.dev/seen":"yes"}}}']
    ok = bound.agent("patch", "namespace", bound.tenant_ns, *patch)
    bound.record(f"patch Namespace {bound.tenant_ns}", True, ok)
    assert ok.returncode == 0, ok.stderr
    refused = bound.agent("patch", "namespace", bound.foreign_ns, *patch)
    bound.record(f"patch Namespace {bound.foreign_ns}", False, refused)
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr


def test_agent_binds_owners_but_cannot_escalate(bound: Scenario) -> None:
    user = "{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}"
    owners = _role_binding(bound.tenant_ns, "outpost-owners", "admin", user)
    ok = bound.agent("create", "-f", "-", stdin=owners)
    bound.record(f"create RoleBinding to admin for alice in {bound.tenant_ns}", True, ok)
    assert ok.returncode == 0, ok.stderr
    root = _role_binding(bound.tenant_ns, "outpost-root", "cluster-admin", user)
    refused = bound.agent("create", "-f", "-", stdin=root)
    bound.record(f"create RoleBinding to cluster-admin in {bound.tenant_ns}", False, refused)
    assert refused.returncode != 0
    assert "escalat" in refused.stderr or "forbidden" in refused.stderr
