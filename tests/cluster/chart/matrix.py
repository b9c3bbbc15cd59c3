"""The can-i matrix of the chart's ServiceAccount: the expected answers (the design in
charts/outpost-agent/README.md, "Permissions"), the scenario that records the actual ones, and the
Markdown table written to `$OUTPOST_CAN_I_MATRIX` for the closing note.

I/O: runs kubectl as the agent (through `release.as_agent`); writes the table file.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.chart.release import Release, as_agent
from tests.conftest import Cluster


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


def write_matrix(scenario: Scenario) -> None:
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


def approved(release: Release) -> str:
    """The name the test release approves as IngressClass and ClusterRole (rbac.clusterScoped)."""
    return f"oa-{release.name}"


def cluster_rows(s: Scenario) -> list[tuple[str, bool]]:
    own, foreign, tenant_role = s.own_ns, s.foreign_ns, s.release.tenant_role
    ok = approved(s.release)
    return [
        # rbac.clusterScoped: exactly the approved names, nothing else of their kinds.
        (f"create ingressclasses.networking.k8s.io/{ok}", True),
        (f"delete ingressclasses.networking.k8s.io/{ok}", True),
        (f"create ingressclasses.networking.k8s.io/{ok}-x", False),
        ("list ingressclasses.networking.k8s.io", False),
        (f"patch clusterroles.rbac.authorization.k8s.io/{ok}", True),
        (f"patch clusterroles.rbac.authorization.k8s.io/{ok}-x", False),
        (f"create clusterrolebindings.rbac.authorization.k8s.io/{ok}", False),
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
        (f"get configmaps/outpost-content-0a1b2c -n {own}", True),
        (f"update configmaps/outpost-content-0a1b2c -n {own}", False),
        (f"get configmaps -n {foreign}", False),
        # The trust floor: created on first use, read and raised by name, never deleted.
        (f"create configmaps -n {own}", True),
        (f"get configmaps/outpost-trust-floor -n {own}", True),
        (f"patch configmaps/outpost-trust-floor -n {own}", True),
        (f"update configmaps/outpost-trust-floor -n {own}", False),
        (f"delete configmaps/outpost-trust-floor -n {own}", False),
        (f"delete configmaps/outpost-agent-spool -n {own}", False),
        # The outbox: what was sent, kept for review; patched by name, never deleted.
        (f"patch configmaps/outpost-agent-outbox -n {own}", True),
        (f"delete configmaps/outpost-agent-outbox -n {own}", False),
        # The usage checkpoint: rewritten by name, never patched blind or deleted.
        (f"update configmaps/outpost-agent-usage -n {own}", True),
        (f"patch configmaps/outpost-agent-usage -n {own}", False),
        (f"delete configmaps/outpost-agent-usage -n {own}", False),
        # Licences: read and status only; `outpost license apply` (a person) stores them.
        ("list licenses.outpost.dev", True),
        ("watch licenses.outpost.dev", True),
        ("patch licenses.outpost.dev --subresource=status", True),
        ("create licenses.outpost.dev", False),
        ("update licenses.outpost.dev", False),
        ("delete licenses.outpost.dev", False),
        # Preflight's storageClass check reads storage classes, nothing more.
        ("list storageclasses.storage.k8s.io", True),
        ("create storageclasses.storage.k8s.io", False),
        # SupportBundleRequests: read and status in the agent namespace only; created by people.
        (f"list supportbundlerequests.outpost.dev -n {own}", True),
        (f"watch supportbundlerequests.outpost.dev -n {own}", True),
        (f"patch supportbundlerequests.outpost.dev --subresource=status -n {own}", True),
        (f"create supportbundlerequests.outpost.dev -n {own}", False),
        (f"update supportbundlerequests.outpost.dev -n {own}", False),
        (f"delete supportbundlerequests.outpost.dev -n {own}", False),
        ("list supportbundlerequests.outpost.dev -A", False),
        (f"list supportbundlerequests.outpost.dev -n {foreign}", False),
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
        ("list configmaps -A", False),
        ("watch leases.coordination.k8s.io -A", True),
        ("watch deployments.apps -A", True),
        (f"create serviceaccounts --subresource=token -n {own}", False),
        ("delete validatingadmissionpolicies.admissionregistration.k8s.io", False),
    ]


def tenant_rows(s: Scenario) -> list[tuple[str, bool]]:
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
