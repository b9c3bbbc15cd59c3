"""The chart's RBAC and admission policy, proven as the agent: a token minted (TokenRequest) for
the chart's ServiceAccount, then `kubectl auth can-i` and real requests with that token.

The whole can-i matrix is written as a Markdown table to `$OUTPOST_CAN_I_MATRIX` when set.
"""

from __future__ import annotations

import subprocess
import textwrap
import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.chart import manifests
from tests.cluster.chart.matrix import (
    Scenario,
    approved,
    cluster_rows,
    tenant_rows,
    write_matrix,
)
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


@pytest.fixture(scope="module")
def scenario(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    namespace = f"oa-rbac-{uuid.uuid4().hex[:6]}"
    cluster.kubectl_run("create", "namespace", namespace)
    release = Release(new_release_name(), namespace, cluster.helm)
    # The CRDs come from kubectl here (they are cluster-wide and other releases may own them):
    # can-i resolves outpost.dev kinds through discovery.
    apply_crds(cluster)
    allowed_crd = f"gadgets.g{release.name}.oa-test.example"
    install(
        cluster,
        release,
        "--set",
        "crds.enabled=false",
        "--set",
        f"rbac.bundleCRDs[0]={allowed_crd}",
        "--set",
        f"rbac.clusterScoped={{IngressClass/{approved(release)},ClusterRole/{approved(release)}}}",
    )
    kubeconfig = token_kubeconfig(cluster, release, tmp_path_factory.mktemp("sa") / "agent.yaml")
    found = Scenario(cluster, release, kubeconfig)
    cluster.kubectl_run("create", "namespace", found.foreign_ns)
    yield found
    write_matrix(found)
    subprocess.run(
        [str(release.helm), "uninstall", release.name, "-n", namespace],
        env=cluster.env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    for kind in ("ingressclass", "clusterrole"):
        cluster.kubectl_run("delete", kind, approved(release), "--ignore-not-found", check=False)
    for group in (f"g{release.name}", f"h{release.name}"):
        cluster.kubectl_run(
            "delete", "crd", f"gadgets.{group}.oa-test.example", "--ignore-not-found", check=False
        )
    for ns in (found.tenant_ns, found.foreign_ns, namespace):
        cluster.kubectl_run(
            "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
        )


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
    doc = manifests.namespace(s.tenant_ns, manifests.tenant_labels(f"t-{s.suffix}"))
    created = eventually(lambda: s.agent("create", "-f", "-", stdin=doc))
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
    _check(scenario, "before any tenant", cluster_rows(scenario))


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
    _check(bound, "after the agent's RoleBinding in the tenant namespace", tenant_rows(bound))


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


def _crd(group: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {{name: gadgets.{group}}}
        spec:
          group: {group}
          scope: Namespaced
          names: {{plural: gadgets, singular: gadget, kind: Gadget}}
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
        """)


def test_agent_applies_only_the_bundle_crds_it_was_allowed(scenario: Scenario) -> None:
    # resourceNames also limit a create made by server-side apply (the name is in the URL).
    apply = ("apply", "--server-side", "--field-manager=outpost-agent", "-f", "-")
    allowed = scenario.agent(*apply, stdin=_crd(f"g{scenario.release.name}.oa-test.example"))
    scenario.record("server-side apply of CRD named in rbac.bundleCRDs", True, allowed)
    assert allowed.returncode == 0, allowed.stderr
    other = scenario.agent(*apply, stdin=_crd(f"h{scenario.release.name}.oa-test.example"))
    scenario.record("server-side apply of a CRD not named in rbac.bundleCRDs", False, other)
    assert other.returncode != 0
    assert "forbidden" in other.stderr


def _cluster_scoped(kind: str, name: str, rules: str = "") -> str:
    api = "rbac.authorization.k8s.io/v1" if kind == "ClusterRole" else "networking.k8s.io/v1"
    body = f"rules: {rules}\n" if kind == "ClusterRole" else "spec: {controller: acme.example/c}\n"
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\n{body}"


def test_agent_writes_only_the_approved_cluster_scoped_objects(scenario: Scenario) -> None:
    apply = ("apply", "--server-side", "--field-manager=outpost-agent", "-f", "-")
    name, s = approved(scenario.release), scenario
    for what, doc, ok in (
        ("IngressClass named in rbac.clusterScoped", _cluster_scoped("IngressClass", name), True),
        ("IngressClass not approved", _cluster_scoped("IngressClass", f"{name}-x"), False),
        ("ClusterRole not approved", _cluster_scoped("ClusterRole", f"{name}-x", "[]"), False),
    ):
        proc = s.agent(*apply, stdin=doc)
        s.record(f"server-side apply of {what}", ok, proc)
        assert (proc.returncode == 0) == ok, f"{what}: {proc.stderr or 'accepted'}"
    # An approved ClusterRole still holds only rules the agent has itself (escalation check).
    held = "[{apiGroups: [''], resources: [nodes], verbs: [get, list]}]"
    proc = s.agent(*apply, stdin=_cluster_scoped("ClusterRole", name, held))
    s.record("server-side apply of the approved ClusterRole with rules it holds", True, proc)
    assert proc.returncode == 0, proc.stderr
    more = "[{apiGroups: [''], resources: [secrets], verbs: [list]}]"
    proc = s.agent(*apply, stdin=_cluster_scoped("ClusterRole", name, more))
    s.record("server-side apply of the approved ClusterRole with rules it lacks", False, proc)
    assert proc.returncode != 0
    assert "permissions not currently held" in proc.stderr, proc.stderr
