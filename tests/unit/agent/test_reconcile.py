"""The reconcile paths over FakeKube: first visit creates, second visit writes nothing, prune,
finalizer order on deletion, invalid specs stall with nothing applied, the DataPlane's counts."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from agent import api
from agent.kube.helm import Helm
from agent.reconcilers.context import Context
from agent.reconcilers.dispatch import reconcile
from agent.runtime.metrics import Metrics
from agent.runtime.triggers import Triggers
from agent.settings import AgentSettings
from tests.unit.agent.kubefake import FakeKube
from tests.unit.agent.tenantkit import DATAPLANE, tenant

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _ctx(kube: FakeKube) -> Context:
    triggers = Triggers(lambda key, delay: None, lambda: None)
    return Context(
        kube=kube,
        helm=Helm("helm-not-used", {}, 1),
        settings=AgentSettings(),
        triggers=triggers,
        metrics=Metrics(),
        now=lambda: NOW,
    )


def _run(kube: FakeKube, kind: str, name: str) -> float | None:
    return asyncio.run(reconcile(_ctx(kube), kind, name))


def _ready(kube: FakeKube, kind: str, name: str) -> dict[str, Any]:
    obj = kube.objects[(kind, "", name)]
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def _app(**spec: Any) -> dict[str, Any]:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"a": "1"},
    }
    base = {"tenantRef": {"name": "acme"}, "namespace": "a1", "manifests": {"objects": [cm]}}
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {**base, **spec},
    }


def _cluster() -> FakeKube:
    kube = FakeKube()
    kube.put(copy.deepcopy(DATAPLANE))
    kube.put(tenant())
    return kube


def test_first_visit_creates_children_then_a_second_visit_writes_nothing() -> None:
    kube = _cluster()
    _run(kube, "Tenant", "acme")
    kinds = sorted(k for k, _, _ in kube.objects)
    assert kinds.count("Namespace") == 2
    assert {"NetworkPolicy", "ResourceQuota", "LimitRange", "RoleBinding"} <= set(kinds)
    ns = kube.objects[("Namespace", "", "a1")]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert api.FINALIZER in kube.objects[("Tenant", "", "acme")]["metadata"]["finalizers"]
    assert _ready(kube, "Tenant", "acme")["status"] == "True"
    before = kube.total_writes
    _run(kube, "Tenant", "acme")
    assert kube.total_writes == before


def test_hand_edit_is_repaired_and_dropped_namespace_is_pruned() -> None:
    kube = _cluster()
    _run(kube, "Tenant", "acme")
    del kube.objects[("NetworkPolicy", "a1", "outpost-default-deny")]
    kube.objects[("ResourceQuota", "a1", "outpost-quota")]["spec"]["hard"]["requests.cpu"] = "99"
    _run(kube, "Tenant", "acme")
    assert ("NetworkPolicy", "a1", "outpost-default-deny") in kube.objects
    assert (
        kube.objects[("ResourceQuota", "a1", "outpost-quota")]["spec"]["hard"]["requests.cpu"]
        == "8"
    )
    kube.objects[("Tenant", "", "acme")]["spec"]["namespaces"] = ["a1"]
    _run(kube, "Tenant", "acme")
    assert ("Namespace", "", "a2") not in kube.objects


def test_namespace_owned_by_someone_else_stalls_and_touches_nothing() -> None:
    kube = FakeKube()
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a1", "labels": {}}})
    kube.put(tenant(namespaces=["a1"]))
    _run(kube, "Tenant", "acme")
    conditions = {
        c["type"]: c for c in kube.objects[("Tenant", "", "acme")]["status"]["conditions"]
    }
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Stalled"]["reason"] == api.Reason.NAMESPACE_CONFLICT
    assert [k for k, ns, _ in kube.objects if ns == "a1"] == []


def test_manifest_app_waits_for_tenant_then_becomes_ready() -> None:
    kube = _cluster()
    kube.put(_app())
    _run(kube, "Application", "web")
    assert _ready(kube, "Application", "web")["reason"] == api.Reason.DEPENDENCY_NOT_READY
    _run(kube, "Tenant", "acme")
    _run(kube, "Application", "web")
    _run(kube, "Application", "web")
    assert ("ConfigMap", "a1", "settings") in kube.objects
    assert _ready(kube, "Application", "web")["status"] == "True"


def test_unknown_tenant_stalls() -> None:
    kube = FakeKube()
    kube.put(_app(tenantRef={"name": "nobody"}))
    _run(kube, "Application", "web")
    assert _ready(kube, "Application", "web")["reason"] == api.Reason.TENANT_NOT_FOUND
    assert ("ConfigMap", "a1", "settings") not in kube.objects


def test_deleting_tenant_waits_for_its_applications() -> None:
    kube = _cluster()
    kube.put(_app())
    for kind, name in (("Tenant", "acme"), ("Application", "web"), ("Application", "web")):
        _run(kube, kind, name)
    asyncio.run(kube.delete(api.API_VERSION, "Tenant", "acme"))
    _run(kube, "Tenant", "acme")
    assert _ready(kube, "Tenant", "acme")["reason"] == api.Reason.WAITING_FOR_APPLICATIONS
    asyncio.run(kube.delete(api.API_VERSION, "Application", "web"))
    _run(kube, "Application", "web")
    _run(kube, "Application", "web")
    assert ("Application", "", "web") not in kube.objects
    _run(kube, "Tenant", "acme")
    assert ("Tenant", "", "acme") not in kube.objects


def test_dataplane_counts_tenants_and_nodes() -> None:
    kube = _cluster()
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
        }
    )
    _run(kube, "Tenant", "acme")
    _run(kube, "DataPlane", "dp")
    status = kube.objects[("DataPlane", "", "dp")]["status"]
    assert status["kubernetesVersion"] == "v1.36.3"
    assert status["nodes"]["count"] == 1
    assert status["tenants"] == {"total": 1, "ready": 1}
    before = kube.total_writes
    _run(kube, "DataPlane", "dp")
    assert kube.total_writes == before
