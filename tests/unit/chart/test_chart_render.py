"""The outpost-agent chart lints and renders with Helm 4 and Helm 3; its schema and helpers guard
the values; the README documents every value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import k8syaml
from tests.unit.chart.chart import (
    CHART,
    FULL_VALUES,
    NAMESPACE,
    OFFLINE_VALUES,
    RELEASE,
    find,
    leaf_keys,
    render,
    run_helm,
    template,
)

SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"


@pytest.mark.parametrize("values", [[], ["-f", str(FULL_VALUES)]], ids=["default", "full"])
def test_chart_lints(any_helm: Path, values: list[str]) -> None:
    offline = ["-f", str(OFFLINE_VALUES)]
    proc = run_helm(any_helm, "lint", "--strict", str(CHART), "-n", NAMESPACE, *offline, *values)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_default_render_has_the_agent_objects(any_helm: Path) -> None:
    docs = template(any_helm)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    expected = {
        ("ServiceAccount", "outpost-agent"),
        ("ClusterRole", "outpost-agent"),
        ("ClusterRole", "outpost-agent-tenant"),
        ("ClusterRoleBinding", "outpost-agent"),
        ("Role", "outpost-agent"),
        ("RoleBinding", "outpost-agent"),
        ("ValidatingAdmissionPolicy", "outpost-agent-tenant-scope"),
        ("ValidatingAdmissionPolicyBinding", "outpost-agent-tenant-scope"),
        ("ConfigMap", "outpost-agent-trust"),
        ("Deployment", "outpost-agent"),
        ("NetworkPolicy", "outpost-agent"),
    }
    assert expected <= kinds
    assert not find(docs, "Service")
    assert not find(docs, "ServiceMonitor")
    (policy,) = find(docs, "NetworkPolicy")
    assert policy["spec"]["ingress"] == []
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {443, 6443, 53}
    # The tenant role is never bound cluster-wide.
    bound = {d["roleRef"]["name"] for d in find(docs, "ClusterRoleBinding")}
    assert bound == {"outpost-agent"}


def env_value(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container["env"] if e["name"] == name), None)


def test_deployment_is_restricted_and_elects_a_leader(helm4: Path) -> None:
    (deploy,) = find(template(helm4), "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert deploy["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"]
    assert not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is True
    assert env_value(container, "OUTPOST_LEASE_NAME") == "outpost-agent"
    assert "--namespace=$(POD_NAMESPACE)" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OUTPOST_TENANT_CLUSTERROLE"] == "outpost-agent-tenant"
    assert env["OUTPOST_SERVICE_ACCOUNT"] == f"{NAMESPACE}/outpost-agent"
    assert env["HELM_CACHE_HOME"].startswith("/tmp/helm")
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"]
    assert container["resources"]["requests"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/etc/outpost/trust"} <= mounts


def test_full_values_render_every_optional_object(any_helm: Path) -> None:
    docs = template(any_helm, "-f", str(FULL_VALUES), "--api-versions", SERVICE_MONITOR_API)
    assert find(docs, "Service", "outpost-agent-metrics")
    assert find(docs, "ServiceMonitor")
    (deploy,) = find(docs, "Deployment")
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    assert container["image"] == (
        "mirror.example.internal:5000/outpost/agent:0.1.0@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    env = {e["name"]: e for e in container["env"]}
    assert env["OUTPOST_HUB_URL"]["value"] == "https://hub.example.com"
    assert env["OUTPOST_HUB_ENROLLMENT_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "token"
    assert env["OUTPOST_SERVICE_ACCOUNT"]["value"] == f"{NAMESPACE}/outpost-agent-sa"
    (policy,) = find(docs, "NetworkPolicy")
    egress_cidrs = {
        t["ipBlock"]["cidr"]
        for r in policy["spec"]["egress"]
        for t in r.get("to", [])
        if "ipBlock" in t
    }
    assert egress_cidrs == {"10.96.0.1/32", "192.0.2.10/32", "203.0.113.10/32"}


def test_service_monitor_needs_its_crd(helm4: Path) -> None:
    docs = template(helm4, "-f", str(FULL_VALUES))
    assert not find(docs, "ServiceMonitor")


def test_image_defaults_to_app_version_without_digest(helm4: Path) -> None:
    (deploy,) = find(template(helm4), "Deployment")
    chart = k8syaml.load((CHART / "Chart.yaml").read_text())
    image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"registry.outpost.dev/outpost/agent:{chart['appVersion']}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "imagee.tag=1"], "imagee"),
        (["--set", "hub.enabled=yes"], "/hub/enabled"),
        (["--set", "rbac.clusterWideWatchh=true"], "clusterWideWatchh"),
        (["--set", "replicaCount=two"], "replicaCount"),
        (["--set", "image.tag=latest"], "/image/tag"),
        (["--set", "networkPolicy.apiServer.cidrs[0]=10.0.0.1"], "cidrs"),
    ],
    ids=[
        "misspelt-top-key",
        "wrong-type-bool",
        "misspelt-nested-key",
        "wrong-type-int",
        "latest-tag",
        "bad-cidr",
    ],
)
def test_schema_rejects_bad_values(any_helm: Path, args: list[str], message: str) -> None:
    for command in (["template", RELEASE], ["lint"]):
        proc = run_helm(any_helm, *command, str(CHART), "-n", NAMESPACE, *args)
        assert proc.returncode != 0, f"{command[0]} accepted {args}"
        assert message in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "hub.enabled=true"], "needs hub.url"),
        (["--set", "hub.enabled=true", "--set", "hub.url=https://h"], "needs hub.keys"),
        (["--set", "serviceAccount.create=false"], "serviceAccount.name is required"),
    ],
    ids=["hub-without-url", "hub-without-keys", "sa-without-name"],
)
def test_helpers_fail_with_a_clear_message(helm4: Path, args: list[str], message: str) -> None:
    proc = render(helm4, *args)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_crds_are_kept_by_default_and_can_be_left_out(helm4: Path) -> None:
    files = sorted((CHART / "files" / "crds").glob("*.yaml"))
    if not files:
        pytest.skip("charts/outpost-agent/files/crds/ holds no CRD yet")
    crds = find(template(helm4), "CustomResourceDefinition")
    assert len(crds) == len(files)
    for crd in crds:
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    not_kept = find(template(helm4, "--set", "crds.keep=false"), "CustomResourceDefinition")
    assert all(
        "helm.sh/resource-policy" not in (c["metadata"].get("annotations") or {}) for c in not_kept
    )
    assert not find(template(helm4, "--set", "crds.enabled=false"), "CustomResourceDefinition")


def test_crd_files_stay_plain_yaml() -> None:
    for path in (CHART / "files" / "crds").glob("*.yaml"):
        text = path.read_text()
        assert "{{" not in text, f"{path.name} must stay installable with kubectl apply -f"
        assert k8syaml.load(text)["kind"] == "CustomResourceDefinition"


def test_readme_documents_every_value() -> None:
    values = k8syaml.load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    missing = [key for key in leaf_keys(values) if f"`{key}`" not in readme]
    assert not missing, f"values missing from the README's table: {missing}"
