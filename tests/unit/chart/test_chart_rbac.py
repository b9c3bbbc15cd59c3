"""Least privilege in the chart's RBAC: no wildcards, Secrets only where the design allows them,
no escalate/impersonate, `bind` limited by name, and a WHY comment on every rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.chart.chart import CHART, FULL_VALUES, NAMESPACE, find, rbac_rules, template

RBAC_TEMPLATES = (
    "clusterrole.yaml",
    "clusterrole-tenant.yaml",
    "role.yaml",
    "clusterrole-approved.yaml",
)
FORBIDDEN_VERBS = {"escalate", "impersonate", "*"}
Docs = list[dict[str, Any]]


@pytest.fixture(scope="module", params=["default", "full"])
def rendered(helm4: Path, request: pytest.FixtureRequest) -> Docs:
    args = ["-f", str(FULL_VALUES)] if request.param == "full" else []
    return template(helm4, *args)


def test_no_wildcards_anywhere(rendered: Docs) -> None:
    for role, rule in rbac_rules(rendered):
        for field in ("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"):
            assert not any("*" in item for item in rule.get(field, [])), (role["metadata"], rule)


def test_no_escalate_or_impersonate(rendered: Docs) -> None:
    for _role, rule in rbac_rules(rendered):
        assert not FORBIDDEN_VERBS & set(rule["verbs"]), rule
        assert not {"users", "groups", "userextras", "serviceaccounts/token"} & set(
            rule["resources"]
        ), rule


def test_secrets_only_in_own_namespace_role_and_tenant_role(
    rendered: Docs,
) -> None:
    holders = set()
    for role, rule in rbac_rules(rendered):
        if "secrets" in rule["resources"]:
            holders.add((role["kind"], role["metadata"]["name"]))
            if role["kind"] == "Role":
                assert role["metadata"]["namespace"] == NAMESPACE
    assert holders == {("Role", "outpost-agent"), ("ClusterRole", "outpost-agent-tenant")}


def test_own_namespace_secrets_are_limited_to_the_identity_key(
    rendered: Docs,
) -> None:
    (role,) = find(rendered, "Role")
    for rule in role["rules"]:
        if "secrets" in rule["resources"] and set(rule["verbs"]) != {"create"}:
            assert rule["resourceNames"] == ["outpost-agent-identity"]


def test_bind_is_limited_to_the_tenant_and_owner_roles(
    rendered: Docs,
) -> None:
    binds = [rule for _, rule in rbac_rules(rendered) if "bind" in rule["verbs"]]
    assert len(binds) == 1
    assert binds[0]["resources"] == ["clusterroles"]
    assert sorted(binds[0]["resourceNames"]) == ["admin", "edit", "outpost-agent-tenant", "view"]


def test_cluster_role_grants_no_namespaced_writes(rendered: Docs) -> None:
    (main,) = find(rendered, "ClusterRole", "outpost-agent")
    writes = {"create", "update", "patch", "delete", "deletecollection"}
    allowed = {
        "dataplanes",
        "tenants",
        "applications",
        "bundles",
        "licenses",
        "namespaces",
        "events",
        "rolebindings",
    }
    for rule in main["rules"]:
        if rule["resources"] == ["customresourcedefinitions"] and writes & set(rule["verbs"]):
            assert rule["resourceNames"] == ["widgets.acme.example"]  # only from bundleCRDs
            assert "delete" not in rule["verbs"]
            continue
        if writes & set(rule["verbs"]):
            bases = {r.split("/")[0] for r in rule["resources"]}
            assert bases <= allowed, rule
        if "namespaces" in rule["resources"]:
            assert set(rule["verbs"]) == {"get", "list", "watch", "create"}
        if rule["resources"] == ["rolebindings"] and writes & set(rule["verbs"]):
            assert rule["verbs"] == ["create"]


def test_licenses_are_read_only_but_for_their_status(rendered: Docs) -> None:
    (main,) = find(rendered, "ClusterRole", "outpost-agent")
    rules = [r for r in main["rules"] if any(x.startswith("licenses") for x in r["resources"])]
    assert {tuple(r["resources"]): set(r["verbs"]) for r in rules} == {
        ("licenses",): {"get", "list", "watch"},
        ("licenses/status",): {"get", "patch", "update"},
    }


@pytest.mark.parametrize("name", RBAC_TEMPLATES)
def test_every_rule_has_a_why_comment(name: str) -> None:
    lines = (CHART / "templates" / name).read_text().splitlines()
    rule_starts = [i for i, line in enumerate(lines) if re.match(r"^  - apiGroups:", line)]
    assert rule_starts, f"no rules found in {name}"
    for index in rule_starts:
        comments = []
        for line in reversed(lines[:index]):
            if not line.strip().startswith("#"):
                break
            comments.append(line.strip())
        where = f"{name}:{index + 1}: rule without a '# WHY:' comment right above it"
        assert any(c.startswith("# WHY:") for c in comments), where
