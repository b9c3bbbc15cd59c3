"""YAML documents the chart tests send as the agent: namespaces, RoleBindings, Tenants, workloads
and CRDs, written the way the agent writes them (or the way an attacker holding its token would).

Pure: strings out.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping

RBAC = "rbac.authorization.k8s.io"
MANAGED = {
    "outpost.dev/managed-by": "outpost-agent",
    "app.kubernetes.io/managed-by": "outpost-agent",
}


def tenant_labels(tenant: str, level: str = "baseline") -> dict[str, str]:
    """The labels the agent puts on a tenant namespace."""
    psa = {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}
    return {**MANAGED, "outpost.dev/tenant": tenant, **psa}


def namespace(name: str, labels: Mapping[str, str] | None) -> str:
    meta: dict[str, object] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})


def role_binding(ns: str, name: str, role: str, subject: str, kind: str = "ClusterRole") -> str:
    """A RoleBinding; `subject` is one flow-style YAML subject."""
    return textwrap.dedent(f"""\
        apiVersion: {RBAC}/v1
        kind: RoleBinding
        metadata: {{name: {name}, namespace: {ns}}}
        roleRef: {{apiGroup: {RBAC}, kind: {kind}, name: {role}}}
        subjects: [{subject}]
        """)


def user(name: str, kind: str = "User") -> str:
    return f"{{apiGroup: {RBAC}, kind: {kind}, name: '{name}'}}"


def service_account(namespace: str, name: str) -> str:
    return f"{{kind: ServiceAccount, name: {name}, namespace: {namespace}}}"


def tenant(name: str, namespaces: list[str], owners: list[tuple[str, str]]) -> str:
    spec = {
        "namespaces": namespaces,
        "owners": [{"kind": kind, "name": who} for kind, who in owners],
    }
    doc = {"apiVersion": "outpost.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name}}
    return json.dumps({**doc, "spec": spec})


def workload(kind: str, ns: str, name: str, *, hostile: bool) -> str:
    """A Deployment or DaemonSet; hostile: privileged, hostPath /, host network and PID."""
    container: dict[str, object] = {"name": "c", "image": "registry.example/app@sha256:" + "0" * 64}
    pod: dict[str, object] = {"containers": [container]}
    if hostile:
        container["securityContext"] = {"privileged": True}
        container["volumeMounts"] = [{"name": "root", "mountPath": "/host"}]
        pod.update(
            hostNetwork=True,
            hostPID=True,
            volumes=[{"name": "root", "hostPath": {"path": "/"}}],
        )
    labels = {"app": name}
    spec = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod},
    }
    meta = {"name": name, "namespace": ns}
    return json.dumps({"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec})


def privileged_pod(ns: str, name: str) -> str:
    container = {
        "name": "c",
        "image": "registry.example/app",
        "securityContext": {"privileged": True},
    }
    meta = {"name": name, "namespace": ns}
    return json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [container]}}
    )


def crd(group: str, webhook_url: str | None = None) -> str:
    """A namespaced CRD `gadgets.<group>`; with `webhook_url`, a conversion webhook to it."""
    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        },
    }
    spec: dict[str, object] = {
        "group": group,
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [version],
    }
    if webhook_url:
        spec["conversion"] = {
            "strategy": "Webhook",
            "webhook": {"clientConfig": {"url": webhook_url}, "conversionReviewVersions": ["v1"]},
        }
    doc = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}
    return json.dumps({**doc, "metadata": {"name": f"gadgets.{group}"}, "spec": spec})
