"""Application targets, manifest rendering, release names, inventory and prune."""

from __future__ import annotations

from typing import Any

import pytest

from agent import api
from agent.core.application.spec import (
    AppSpec,
    inventory,
    prune_set,
    release_name,
    render_manifests,
    resolve_namespace,
    revision,
    tenant_not_ready,
)
from agent.core.conditions import Problem
from agent.core.objects import ObjectRef
from tests.unit.agent.appkit import CM, DEPLOY, app, helm_app, manifest_app, ready_tenant
from tests.unit.agent.tenantkit import tenant


@pytest.mark.parametrize(
    ("spec", "has_tenant", "expected"),
    [
        pytest.param({"tenantRef": {"name": "acme"}}, True, "a1", id="tenant-first-namespace"),
        pytest.param({"tenantRef": {"name": "acme"}, "namespace": "a2"}, True, "a2", id="chosen"),
        pytest.param(
            {"tenantRef": {"name": "acme"}, "namespace": "zz"},
            True,
            "NamespaceNotInTenant",
            id="not-in-tenant",
        ),
        pytest.param({"tenantRef": {"name": "acme"}}, False, "TenantNotFound", id="no-tenant"),
        pytest.param({"namespace": "sys"}, False, "sys", id="dataplane-scoped"),
        pytest.param({}, False, "ManifestInvalid", id="dataplane-without-namespace"),
    ],
)
def test_resolve_namespace(spec: dict[str, Any], has_tenant: bool, expected: str) -> None:
    result = resolve_namespace(AppSpec.from_object(app(**spec)), tenant() if has_tenant else None)
    assert (result.reason if isinstance(result, Problem) else result) == expected


def test_tenant_not_ready_is_reconciling() -> None:
    spec = AppSpec.from_object(manifest_app())
    problem = tenant_not_ready(spec, tenant())
    assert problem is not None
    assert problem.reason == api.Reason.DEPENDENCY_NOT_READY
    assert not problem.stalled
    assert tenant_not_ready(spec, ready_tenant()) is None


def test_render_manifests_namespaces_labels_and_owns() -> None:
    objs = render_manifests(manifest_app(), "a1")
    assert not isinstance(objs, Problem)
    for obj in objs:
        assert obj["metadata"]["namespace"] == "a1"
        assert obj["metadata"]["labels"][api.LABEL_APPLICATION] == "web"
        assert obj["metadata"]["ownerReferences"][0]["kind"] == "Application"
    assert "namespace" not in CM["metadata"]  # the spec is not mutated


@pytest.mark.parametrize(
    ("obj", "scoped", "fragment"),
    [
        pytest.param(
            {"kind": "ConfigMap", "metadata": {"name": "x"}},
            True,
            "apiVersion",
            id="missing-apiversion",
        ),
        pytest.param(
            {**CM, "metadata": {"name": "x", "namespace": "b"}},
            True,
            "namespace 'b'",
            id="foreign-namespace",
        ),
        pytest.param(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "x"},
            },
            True,
            "cluster-scoped",
            id="cluster-scoped",
        ),
    ],
)
def test_render_manifests_rejects(obj: dict[str, Any], scoped: bool, fragment: str) -> None:
    spec: dict[str, Any] = {"manifests": {"objects": [CM, obj]}}
    if scoped:
        spec["tenantRef"] = {"name": "acme"}
    result = render_manifests(app(**spec), "a1")
    assert isinstance(result, Problem)
    assert result.reason == api.Reason.MANIFEST_INVALID
    assert "`spec.manifests.objects[1]`" in result.message
    assert fragment in result.message


def test_dataplane_app_may_create_cluster_scoped_objects() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "x"}}  # fmt: skip
    result = render_manifests(app(namespace="sys", manifests={"objects": [role]}), "sys")
    assert not isinstance(result, Problem)
    assert "namespace" not in result[0]["metadata"]


@pytest.mark.parametrize(
    ("name", "release", "expected"),
    [
        ("web", "", "web"),
        ("web", "custom", "custom"),
        ("my.app", "", "my-app"),
    ],
)
def test_release_name(name: str, release: str, expected: str) -> None:
    helm = {"chart": "c", **({"releaseName": release} if release else {})}
    assert release_name(AppSpec.from_object(app(name, helm=helm))) == expected


def test_long_release_name_is_truncated_deterministically() -> None:
    spec = AppSpec.from_object(app("a" * 80, helm={"chart": "c"}))
    name = release_name(spec)
    assert len(name) <= 53
    assert name == release_name(spec)
    assert name != release_name(AppSpec.from_object(app("a" * 79, helm={"chart": "c"})))


def test_revision_changes_with_values_only() -> None:
    base = AppSpec.from_object(helm_app())
    same = AppSpec.from_object(helm_app())
    other = AppSpec.from_object(helm_app(helm={"chart": "charts/webapp", "values": {"x": 1}}))
    assert revision(base, "a1") == revision(same, "a1")
    assert revision(base, "a1") != revision(other, "a1")
    assert revision(base, "a1") != revision(base, "a2")
    assert len(revision(base, "a1")) == 32


@pytest.mark.parametrize(
    ("chart", "repo", "location"),
    [("charts/webapp", "", "bundle"), ("oci://r.example/c", "", "oci"),
     ("https://x.example/c-1.tgz", "", "repo"), ("webapp", "https://charts.example", "repo")],
)  # fmt: skip
def test_chart_location(chart: str, repo: str, location: str) -> None:
    spec = AppSpec.from_object(app(helm={"chart": chart, "repoURL": repo}))
    assert spec.helm is not None
    assert spec.helm.location == location


def test_inventory_and_prune() -> None:
    objs = render_manifests(manifest_app(), "a1")
    assert not isinstance(objs, Problem)
    refs = inventory([*objs, *objs])
    assert sorted(r.kind for r in refs) == ["ConfigMap", "Deployment"]
    old = ObjectRef("v1", "Secret", "a1", "gone")
    cluster = ObjectRef("v1", "Namespace", "", "old")
    assert prune_set([*refs, cluster, old], refs) == (old, cluster)
    assert DEPLOY["metadata"] == {"name": "api"}
