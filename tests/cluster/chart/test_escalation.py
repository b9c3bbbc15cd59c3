"""An agent that cannot climb out: each way a compromised agent could reach the nodes or other
namespaces, tried with a token minted (TokenRequest) for the chart's ServiceAccount against the
real API server, which must refuse it; and next to it the legitimate request, which must pass.

Rows are added to the can-i matrix (`$OUTPOST_CAN_I_MATRIX`) as "real request as the agent".
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import k8syaml
from tests.cluster.chart import manifests as m
from tests.cluster.chart.matrix import Scenario, write_matrix
from tests.cluster.chart.release import (
    CHART,
    Release,
    apply_crds,
    as_agent,
    eventually,
    get_json,
    install,
    new_release_name,
    run,
    token_kubeconfig,
)
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
POLICY = "ValidatingAdmissionPolicy"


class Attack(Scenario):
    """The scenario plus the names this module's rules are about."""

    @property
    def tenant(self) -> str:
        return f"t-{self.suffix}"

    @property
    def orphan_ns(self) -> str:
        """A namespace labelled for a tenant that has no Tenant object."""
        return f"orphan-{self.suffix}"

    @property
    def held(self) -> str:
        """A namespace reserved by the chart value (as cert-manager would be)."""
        return f"held-{self.suffix}"

    @property
    def crd_group(self) -> str:
        return f"w{self.release.name}.oa-test.example"

    def refused(self, what: str, doc: str, *args: str, policy: str = POLICY) -> str:
        """Sends `doc` as the agent; asserts the API server refuses it; returns the message.
        A new policy takes a moment to apply: server-side dry runs (admission without a write)
        wait for it first; then the real request must be refused, and accepted once fails."""
        verb = args or ("create",)
        settle = time.monotonic() + 30
        while time.monotonic() < settle:
            probe = self.agent(*verb, "--dry-run=server", "-f", "-", stdin=doc)
            if probe.returncode != 0 and policy in probe.stderr:
                break
            time.sleep(1)
        deadline = time.monotonic() + 30
        while True:
            proc = self.agent(*verb, "-f", "-", stdin=doc)
            assert proc.returncode != 0, f"{what}: accepted"
            if policy in proc.stderr or time.monotonic() > deadline:
                break
            time.sleep(1)
        self.record(what, False, proc)
        assert policy in proc.stderr, f"{what}: refused for another reason: {proc.stderr}"
        return proc.stderr

    def allowed(self, what: str, doc: str, *args: str) -> None:
        proc = eventually(lambda: self.agent(*(args or ("create",)), "-f", "-", stdin=doc))
        self.record(what, True, proc)
        assert proc.returncode == 0, f"{what}: {proc.stderr}"

    def patch_ns(self, what: str, labels: dict[str, str | None], ok: bool) -> str:
        patch = json.dumps({"metadata": {"labels": labels}})
        argv = ("patch", "namespace", self.tenant_ns, "--type=merge", "-p", patch)
        proc = eventually(lambda: self.agent(*argv), ok)
        self.record(what, ok, proc)
        assert (proc.returncode == 0) == ok, f"{what}: {proc.stderr or 'accepted'}"
        assert ok or POLICY in proc.stderr, f"{what}: refused for another reason: {proc.stderr}"
        return proc.stderr


@pytest.fixture(scope="module")
def attack(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attack]:
    suffix = uuid.uuid4().hex[:6]
    namespace = f"oa-esc-{suffix}"
    cluster.kubectl_run("create", "namespace", namespace)
    release = Release(new_release_name(), namespace, cluster.helm)
    apply_crds(cluster)
    held = f"held-{suffix}"
    crd = f"gadgets.w{release.name}.oa-test.example"
    sets = (
        "crds.enabled=false",
        f"rbac.bundleCRDs[0]={crd}",
        f"rbac.admissionPolicy.reservedNamespaces[0]={held}",
    )
    install(cluster, release, *(arg for kv in sets for arg in ("--set", kv)))
    kubeconfig = token_kubeconfig(cluster, release, tmp_path_factory.mktemp("sa") / "agent.yaml")
    found = Attack(cluster, release, kubeconfig, suffix=suffix)
    owners = [("User", f"alice-{suffix}"), ("Group", f"team-{suffix}")]
    tenant = m.tenant(found.tenant, [found.tenant_ns], owners)
    _admin_create(cluster, tenant)
    _bootstrap(found)
    yield found
    write_matrix(found)
    _cleanup(cluster, found)


def _admin_create(cluster: Cluster, doc: str) -> None:
    proc = as_agent(cluster, cluster.kubeconfig, "create", "-f", "-", stdin=doc)
    assert proc.returncode == 0, proc.stderr


def _bootstrap(s: Attack) -> None:
    """The agent's legitimate start in a tenant namespace: create it labelled, bind itself."""
    s.allowed(
        f"create Namespace {s.tenant_ns} with Outpost's labels, enforce=baseline",
        m.namespace(s.tenant_ns, m.tenant_labels(s.tenant)),
    )
    sa = m.service_account(s.own_ns, s.release.service_account)
    s.allowed(
        f"create RoleBinding outpost-agent (own SA → tenant role) in {s.tenant_ns}",
        m.role_binding(s.tenant_ns, "outpost-agent", s.release.tenant_role, sa),
    )
    eventually(lambda: s.agent("auth", "can-i", "patch", "namespaces", "-n", s.tenant_ns))


def _cleanup(cluster: Cluster, s: Attack) -> None:
    subprocess.run(
        [str(s.release.helm), "uninstall", s.release.name, "-n", s.own_ns],
        env=cluster.env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    cluster.kubectl_run("delete", "tenant", s.tenant, "--ignore-not-found", check=False)
    cluster.kubectl_run(
        "delete", "crd", f"gadgets.{s.crd_group}", "--ignore-not-found", check=False
    )
    for ns in (s.tenant_ns, s.orphan_ns, s.own_ns):
        cluster.kubectl_run(
            "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
        )


def test_namespace_needs_outpost_labels_values_and_pod_security(attack: Attack) -> None:
    name = f"bad-{attack.suffix}"
    good = m.tenant_labels(attack.tenant)
    cases = {
        "only the outpost.dev/tenant key (enough before)": {"outpost.dev/tenant": attack.tenant},
        "enforce=privileged": m.tenant_labels(attack.tenant, "privileged"),
        "no Pod Security label": {k: v for k, v in good.items() if "pod-security" not in k},
        "an invalid tenant value": {**good, "outpost.dev/tenant": "Not_A_Name"},
        "both tenant and application labels": {**good, "outpost.dev/application": "x"},
        "an old enforce-version": {**good, "pod-security.kubernetes.io/enforce-version": "v1.22"},
    }
    for what, labels in cases.items():
        attack.refused(f"create Namespace {name} with {what}", m.namespace(name, labels))


def test_namespace_update_cannot_lower_pod_security_or_change_owner(attack: Attack) -> None:
    enforce = "pod-security.kubernetes.io/enforce"
    message = attack.patch_ns(
        f"label {attack.tenant_ns} {enforce}=privileged", {enforce: "privileged"}, False
    )
    assert "baseline or restricted" in message
    attack.patch_ns(f"remove {enforce} from {attack.tenant_ns}", {enforce: None}, False)
    other = {"outpost.dev/tenant": f"other-{attack.suffix}"}
    message = attack.patch_ns(f"relabel {attack.tenant_ns} for another tenant", other, False)
    assert "may not give it" in message
    attack.patch_ns(f"label {attack.tenant_ns} {enforce}=restricted", {enforce: "restricted"}, True)
    attack.patch_ns(f"label {attack.tenant_ns} {enforce}=baseline", {enforce: "baseline"}, True)


def test_reserved_namespace_names_are_refused(attack: Attack) -> None:
    labels = m.tenant_labels(attack.tenant)
    for name in (f"kube-{attack.suffix}", attack.held, "default"):
        message = attack.refused(f"create Namespace {name} (reserved)", m.namespace(name, labels))
        assert "is reserved" in message


def test_rolebinding_subjects_are_never_system_or_other_service_accounts(attack: Attack) -> None:
    # A namespace labelled for a tenant that has no Tenant object: no owner list applies, so
    # this is the unconditional -tenant-scope rule alone.
    ns = attack.orphan_ns
    attack.allowed(
        f"create Namespace {ns} for tenant orphan-{attack.suffix} (no Tenant object)",
        m.namespace(ns, m.tenant_labels(f"orphan-{attack.suffix}")),
    )
    hostile = {
        "admin to Group system:authenticated": m.user("system:authenticated", "Group"),
        "admin to Group system:masters": m.user("system:masters", "Group"),
        "admin to User system:kube-controller-manager": m.user("system:kube-controller-manager"),
        "admin to ServiceAccount kube-system/default": m.service_account("kube-system", "default"),
        "admin to its own ServiceAccount": m.service_account(
            attack.own_ns, attack.release.service_account
        ),
    }
    for what, subject in hostile.items():
        doc = m.role_binding(ns, "x", "admin", subject)
        message = attack.refused(f"create RoleBinding {what} in {ns}", doc)
        assert "-tenant-scope" in message


def test_rolebinding_subjects_are_the_tenant_owners_only(attack: Attack) -> None:
    ns, s = attack.tenant_ns, attack.suffix
    for what, subject in {
        f"User mallory-{s} (no owner)": m.user(f"mallory-{s}"),
        "Group system:authenticated": m.user("system:authenticated", "Group"),
    }.items():
        doc = m.role_binding(ns, "x", "admin", subject)
        attack.refused(f"create RoleBinding admin to {what} in {ns}", doc)
    doc = m.role_binding(ns, "x", "admin", m.user(f"mallory-{s}"))
    assert "-owners" in attack.refused(f"create RoleBinding admin to mallory-{s} in {ns}", doc)
    for what, subject in {
        "User alice": m.user(f"alice-{s}"),
        "Group team": m.user(f"team-{s}", "Group"),
    }.items():
        name = f"owner-{what.split()[1]}"
        attack.allowed(
            f"create RoleBinding admin to owner {what} in {ns}",
            m.role_binding(ns, name, "admin", subject),
        )


def test_no_rolebinding_outside_outpost_namespaces(attack: Attack) -> None:
    # With the policies off, RBAC alone (create rolebindings + bind admin) would allow this.
    doc = m.role_binding(
        "kube-system", f"x-{attack.suffix}", "admin", m.user(f"alice-{attack.suffix}")
    )
    attack.refused("create RoleBinding admin in kube-system", doc)


def test_tenants_cannot_name_system_owners_or_reserved_namespaces(attack: Attack) -> None:
    s = attack.suffix
    owners = [("Group", "system:authenticated")]
    attack.refused(
        "create Tenant owned by Group system:authenticated",
        m.tenant(f"evil-{s}", [f"evil-{s}"], owners),
        "create",
        "--dry-run=server",
    )
    attack.refused(
        "create Tenant claiming kube-system",
        m.tenant(f"evil-{s}", ["kube-system"], [("User", "x")]),
        "create",
        "--dry-run=server",
    )
    attack.allowed(
        "create Tenant with a user owner (dry run)",
        m.tenant(f"fine-{s}", [f"fine-{s}"], [("User", "x")]),
        "create",
        "--dry-run=server",
    )


def test_no_privileged_hostpath_workloads(attack: Attack) -> None:
    ns = attack.tenant_ns
    message = attack.refused(
        f"create privileged hostPath hostNetwork DaemonSet in {ns}",
        m.workload("DaemonSet", ns, "node-root", hostile=True),
    )
    assert "hostPath" in message or "network" in message or "privileged" in message
    attack.allowed(
        f"create plain Deployment in {ns}", m.workload("Deployment", ns, "web", hostile=False)
    )
    # Pod Security, enforced on the namespace at a level the agent cannot lower, is the backstop:
    # even a cluster admin's privileged pod is refused there.
    admin = as_agent(
        attack.cluster,
        attack.cluster.kubeconfig,
        "create",
        "--dry-run=server",
        "-f",
        "-",
        stdin=m.privileged_pod(ns, "p"),
    )
    assert admin.returncode != 0
    assert "PodSecurity" in admin.stderr, admin.stderr


def test_bundle_crd_cannot_carry_a_conversion_webhook(attack: Attack) -> None:
    apply = ("apply", "--server-side", "--field-manager=outpost-agent")
    url = "https://169.254.169.254/latest/meta-data"
    message = attack.refused(
        "server-side apply of an allowed CRD with a conversion webhook",
        m.crd(attack.crd_group, url),
        *apply,
    )
    assert "conversion webhook" in message
    attack.allowed(
        "server-side apply of the same CRD without webhook", m.crd(attack.crd_group), *apply
    )


def _api_rule(policy: dict[str, Any]) -> dict[str, Any]:
    """The one egress rule of the agent's NetworkPolicy that is not DNS."""
    (rule,) = [r for r in policy["spec"]["egress"] if {p["port"] for p in r["ports"]} != {53}]
    return rule


def _peers(rule: dict[str, Any]) -> set[str]:
    assert "to" in rule, "the API server rule allows any address"
    return {peer["ipBlock"]["cidr"] for peer in rule["to"]}


def _endpoint_slice(name: str, ip: str, port: int) -> str:
    return json.dumps(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": name,
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "kubernetes"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip]}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }
    )


def test_network_policy_reaches_only_the_api_servers_addresses(attack: Attack) -> None:
    cluster, release = attack.cluster, attack.release
    service = get_json(cluster, "service", "kubernetes", "-n", "default")
    service_ips = {f"{ip}/32" for ip in service["spec"]["clusterIPs"]}
    installed = get_json(cluster, "networkpolicy", release.fullname, "-n", attack.own_ns)
    assert _peers(_api_rule(installed)) == service_ips
    # The local control plane publishes no endpoints (--endpoint-reconciler-type=none); a real
    # one does, in an EndpointSlice like this one. The chart's lookup finds its address and port.
    name = f"kubernetes-{attack.suffix}"
    _admin_create(cluster, _endpoint_slice(name, "192.0.2.77", 16443))
    try:
        proc = run(
            cluster,
            [
                str(release.helm),
                "template",
                release.name,
                str(CHART),
                "-n",
                attack.own_ns,
                "--dry-run=server",
                "--set",
                "crds.enabled=false",
                "--show-only",
                "templates/networkpolicy.yaml",
            ],
        )
    finally:
        cluster.kubectl_run("delete", "endpointslice", name, "-n", "default", check=False)
    (rendered,) = [d for d in k8syaml.load_all(proc.stdout) if d and d["kind"] == "NetworkPolicy"]
    rule = _api_rule(rendered)
    assert _peers(rule) == service_ips | {"192.0.2.77/32"}
    assert {p["port"] for p in rule["ports"]} == {443, 6443, 16443}


def test_namespace_service_accounts_only_when_the_chart_allows_them(
    cluster: Cluster, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    release = Release(new_release_name(), f"oa-sa-{suffix}", cluster.helm)
    cluster.kubectl_run("create", "namespace", release.namespace)
    sets = ("crds.enabled=false", "rbac.admissionPolicy.allowNamespaceServiceAccounts=true")
    install(cluster, release, *(arg for kv in sets for arg in ("--set", kv)))
    s = Attack(
        cluster, release, token_kubeconfig(cluster, release, tmp_path / "a.yaml"), suffix=suffix
    )
    try:
        s.allowed(
            f"create Namespace {s.orphan_ns}",
            m.namespace(s.orphan_ns, m.tenant_labels(f"orphan-{suffix}")),
        )
        own = m.service_account(s.orphan_ns, "app")
        s.allowed(
            "bind a ServiceAccount of the same namespace (allowed by the chart)",
            m.role_binding(s.orphan_ns, "app", "edit", own),
        )
        other = m.service_account("kube-system", "default")
        s.refused(
            "bind a ServiceAccount of kube-system", m.role_binding(s.orphan_ns, "x", "edit", other)
        )
    finally:
        _cleanup(cluster, s)
