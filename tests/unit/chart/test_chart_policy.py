"""What the chart renders to keep a compromised agent in its namespaces: the admission policies
(and their switches), the refusal to render without them, and a NetworkPolicy that reaches the
API server's addresses only. The rules themselves are proven on a real API server in
tests/cluster/chart/test_escalation.py; here, what `helm template` produces.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bundle.rollback import Applied
from bundle.trustfloor import applied_to_data
from tests.unit.chart.chart import FULL_VALUES, find, render, template

Docs = list[dict[str, Any]]
POLICIES = {
    f"outpost-agent-{name}"
    for name in (
        "tenant-scope",
        "owners",
        "namespaces",
        "tenants",
        "workloads",
        "crds",
        "trust-floor",
    )
}


def policy(docs: Docs, suffix: str) -> dict[str, Any]:
    (found,) = find(docs, "ValidatingAdmissionPolicy", f"outpost-agent-{suffix}")
    return found


def expressions(doc: dict[str, Any]) -> str:
    spec = doc["spec"]
    parts = [v["expression"] for v in spec.get("validations", []) + spec.get("variables", [])]
    return "\n".join(parts)


def test_every_policy_is_bound_and_matches_only_the_agent(helm4: Path) -> None:
    docs = template(helm4)
    names = {d["metadata"]["name"] for d in find(docs, "ValidatingAdmissionPolicy")}
    assert names == POLICIES
    bindings = {d["spec"]["policyName"]: d for d in find(docs, "ValidatingAdmissionPolicyBinding")}
    assert set(bindings) == POLICIES
    assert all(b["spec"]["validationActions"] == ["Deny"] for b in bindings.values())
    for doc in find(docs, "ValidatingAdmissionPolicy"):
        assert doc["spec"]["failurePolicy"] == "Fail"
        (condition,) = doc["spec"]["matchConditions"]
        user = "system:serviceaccount:outpost-system:outpost-agent"
        assert condition["expression"] == f'request.userInfo.username == "{user}"'
    # The owners rule takes every Tenant as a parameter.
    assert policy(docs, "owners")["spec"]["paramKind"]["kind"] == "Tenant"
    assert bindings["outpost-agent-owners"]["spec"]["paramRef"]["selector"] == {}


def test_namespaces_rule_covers_update_and_pins_pod_security(helm4: Path) -> None:
    docs = template(helm4)
    ns = policy(docs, "namespaces")
    (rule,) = ns["spec"]["matchConstraints"]["resourceRules"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    levels = next(v for v in ns["spec"]["variables"] if v["name"] == "levels")
    assert levels["expression"] == '["baseline","restricted"]'
    allowed = policy(
        template(helm4, "--set", "rbac.admissionPolicy.allowPrivileged=true"), "namespaces"
    )
    levels = next(v for v in allowed["spec"]["variables"] if v["name"] == "levels")
    assert levels["expression"] == '["baseline","restricted","privileged"]'


def test_reserved_namespaces_include_the_chart_value(helm4: Path) -> None:
    args = ("--set", "rbac.admissionPolicy.reservedNamespaces={cert-manager,monitoring-*}")
    text = expressions(policy(template(helm4, *args), "namespaces"))
    assert '["default","outpost-system","cert-manager"]' in text
    assert '["kube-","monitoring-"]' in text


def test_switches_drop_the_workload_and_crd_rules(helm4: Path) -> None:
    docs = template(
        helm4,
        "--set",
        "rbac.admissionPolicy.allowPrivileged=true",
        "--set",
        "rbac.admissionPolicy.allowConversionWebhooks=true",
    )
    names = {d["metadata"]["name"] for d in find(docs, "ValidatingAdmissionPolicy")}
    assert names == POLICIES - {"outpost-agent-workloads", "outpost-agent-crds"}
    assert len(find(docs, "ValidatingAdmissionPolicyBinding")) == len(names)


def test_policies_stay_when_rbac_is_made_elsewhere(helm4: Path) -> None:
    docs = template(
        helm4,
        "--set",
        "rbac.create=false",
        "--set",
        "serviceAccount.create=false",
        "--set",
        "serviceAccount.name=agent",
    )
    assert {d["metadata"]["name"] for d in find(docs, "ValidatingAdmissionPolicy")} == POLICIES


def test_without_the_policies_the_chart_refuses_to_render(helm4: Path) -> None:
    proc = render(helm4, "--set", "rbac.admissionPolicy.enabled=false")
    assert proc.returncode != 0
    assert "rbac.unsafeWithoutPolicy=true" in proc.stderr
    docs = template(
        helm4,
        "--set",
        "rbac.admissionPolicy.enabled=false",
        "--set",
        "rbac.unsafeWithoutPolicy=true",
    )
    assert not find(docs, "ValidatingAdmissionPolicy")


def api_rules(docs: Docs) -> list[dict[str, Any]]:
    (netpol,) = find(docs, "NetworkPolicy")
    return [r for r in netpol["spec"]["egress"] if {p["port"] for p in r["ports"]} & {443, 6443}]


def test_api_server_egress_never_defaults_to_any_address(helm4: Path) -> None:
    # Offline and not given: the addresses cannot be known, so the chart refuses.
    proc = render(helm4, offline=False)
    assert proc.returncode != 0
    assert "networkPolicy.apiServer.cidrs" in proc.stderr
    (rule,) = api_rules(template(helm4))
    assert rule["to"] == [{"ipBlock": {"cidr": "192.0.2.1/32"}}]
    # Any address only when asked for explicitly.
    args = ("--set", "networkPolicy.apiServer.allowAnyAddress=true")
    (rule,) = api_rules(template(helm4, *args, offline=False))
    assert "to" not in rule


@pytest.mark.parametrize("values", [[], ["-f", str(FULL_VALUES)]], ids=["default", "full"])
def test_no_egress_rule_reaches_any_address_on_api_ports(helm4: Path, values: list[str]) -> None:
    for rule in api_rules(template(helm4, *values)):
        assert rule.get("to"), rule


def test_the_agent_learns_the_reserved_names_too(helm4: Path) -> None:
    docs = template(helm4, "--set", "rbac.admissionPolicy.reservedNamespaces={cert-manager,mon-*}")
    (deploy,) = find(docs, "Deployment")
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OUTPOST_RESERVED_NAMESPACES"] == "cert-manager,mon-*"


def test_namespace_service_accounts_only_when_allowed(helm4: Path) -> None:
    same_ns = "s.namespace == request.namespace"
    assert same_ns not in expressions(policy(template(helm4), "tenant-scope"))
    docs = template(helm4, "--set", "rbac.admissionPolicy.allowNamespaceServiceAccounts=true")
    for name in ("tenant-scope", "owners"):
        assert same_ns in expressions(policy(docs, name))


def test_trust_floor_rule_covers_only_that_configmap_in_the_release_namespace(helm4: Path) -> None:
    floor = policy(template(helm4), "trust-floor")
    constraints = floor["spec"]["matchConstraints"]
    (rule,) = constraints["resourceRules"]
    assert rule["resources"] == ["configmaps"]
    assert rule["resourceNames"] == ["outpost-trust-floor"]
    assert rule["operations"] == ["UPDATE", "DELETE"]
    selector = constraints["namespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "outpost-system"}
    text = expressions(floor)
    for key in ("keyringVersion", "keyringDigest", "applied."):
        assert key in text


def test_what_the_agent_writes_is_the_form_the_trust_floor_rule_accepts(helm4: Path) -> None:
    text = expressions(policy(template(helm4), "trust-floor"))
    (canonical,) = re.findall(r"matches\(r'([^']*)'\)", text)
    digest = "sha256:" + "a" * 64
    for product, channel in (("shop", "stable"), ('we"ird', "k\\anal"), ("caf\u00e9", "β")):
        (entry,) = applied_to_data(product, channel, Applied(12, digest)).values()
        assert re.fullmatch(canonical, entry), entry
    (entry,) = applied_to_data("shop", "stable", Applied(12, digest)).values()
    assert not re.fullmatch(canonical, entry[:-1] + ', "sequence": 1}')
