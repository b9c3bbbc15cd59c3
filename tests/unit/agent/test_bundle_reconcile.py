"""The Bundle reconciler over FakeKube: verify-then-apply, refusals apply nothing (bad signature,
tampered content, spec that differs from the signed manifest, rollback without permit), a permit
allows a downgrade, a replaced Bundle reports Superseded, dropped objects are pruned, and bundle
charts are materialized from verified content."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import api
from agent.errors import AgentError
from agent.kube.helm import Helm
from agent.reconcilers.content import materialize_chart
from agent.reconcilers.context import Context
from agent.reconcilers.dispatch import reconcile
from agent.runtime.metrics import Metrics
from agent.runtime.triggers import Triggers
from agent.settings import AgentSettings
from bundle.lineage import APPLIED_AT
from tests.unit.agent.bundlekit import make, permit_for, tenants_file, tenants_ready
from tests.unit.agent.kubefake import FakeKube
from tests.unit.bundle.factory import NOW, vendor


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def tick(self) -> Any:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    v = vendor()
    trust = tmp_path / "trust.json"
    trust.write_bytes(v.trust_root())
    return {"v": v, "kube": FakeKube(), "clock": Clock(), "trust": str(trust)}


def _run(world: dict[str, Any], name: str, trust: str | None = None) -> float | None:
    settings = AgentSettings(trust_root=world["trust"] if trust is None else trust)
    ctx = Context(
        kube=world["kube"], helm=Helm("helm-not-used", {}, 1), settings=settings,
        triggers=Triggers(lambda key, delay: None, lambda: None), metrics=Metrics(),
        now=world["clock"].tick,
    )  # fmt: skip
    return asyncio.run(reconcile(ctx, "Bundle", name))


def _put(world: dict[str, Any], built: tuple[dict[str, Any], list[dict[str, Any]]]) -> str:
    body, cms = built
    for cm in cms:
        if ("ConfigMap", cm["metadata"]["namespace"], cm["metadata"]["name"]) not in world[
            "kube"
        ].objects:
            world["kube"].put(cm)
    world["kube"].put(body)
    return str(body["metadata"]["name"])


def _cond(world: dict[str, Any], name: str, type_: str = "Ready") -> dict[str, Any]:
    status = world["kube"].objects[("Bundle", "", name)].get("status") or {}
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def _tenants(world: dict[str, Any]) -> list[str]:
    return sorted(n for (k, _, n) in world["kube"].objects if k == "Tenant")


def _install(world: dict[str, Any], seq: int, *names: str, **kw: Any) -> str:
    name = _put(world, make(world["v"], seq, {"resources/t.yaml": tenants_file(*names)}, **kw))
    _run(world, name)
    tenants_ready(world["kube"])
    _run(world, name)
    return name


def test_a_verified_bundle_is_applied_labelled_and_becomes_ready(world: dict[str, Any]) -> None:
    name = _install(world, 1, "a", "b")
    assert _tenants(world) == ["a", "b"]
    tenant = world["kube"].objects[("Tenant", "", "a")]
    assert tenant["metadata"]["labels"]["outpost.dev/bundle-product"] == "acme"
    assert tenant["metadata"]["annotations"]["outpost.dev/bundle"] == name
    assert _cond(world, name)["status"] == "True"
    assert _cond(world, name, "Verified")["status"] == "True"
    assert _cond(world, name, "Applied")["status"] == "True"
    bundle = world["kube"].objects[("Bundle", "", name)]
    assert APPLIED_AT in bundle["metadata"]["annotations"]
    assert bundle["status"]["evidence"]["manifestDigest"] == bundle["spec"]["manifestDigest"]
    assert len(bundle["status"]["applied"]) == 2


def test_a_converged_bundle_costs_no_writes(world: dict[str, Any]) -> None:
    name = _install(world, 1, "a")
    before = world["kube"].total_writes
    _run(world, name)
    assert world["kube"].total_writes == before


def test_a_bundle_signed_by_an_untrusted_key_is_refused_with_nothing_applied(
    world: dict[str, Any],
) -> None:
    stranger = vendor(tag="stranger")
    name = _put(world, make(stranger, 1, {"resources/t.yaml": tenants_file("a")}))
    _run(world, name)
    assert _tenants(world) == []
    assert _cond(world, name)["reason"] == api.Reason.VERIFICATION_FAILED
    assert _cond(world, name, "Stalled")["status"] == "True"


def test_no_trust_root_configured_refuses(world: dict[str, Any]) -> None:
    name = _put(world, make(world["v"], 1, {"resources/t.yaml": tenants_file("a")}))
    _run(world, name, trust="")
    assert _tenants(world) == []
    assert "trust root" in _cond(world, name)["message"]


def test_tampered_content_is_refused_with_nothing_applied(world: dict[str, Any]) -> None:
    body, cms = make(world["v"], 1, {"resources/t.yaml": tenants_file("a")})
    cms[0]["binaryData"]["content"] = base64.b64encode(tenants_file("evil")).decode()
    name = _put(world, (body, cms))
    _run(world, name)
    assert _tenants(world) == []
    assert _cond(world, name)["reason"] == api.Reason.VERIFICATION_FAILED
    assert "check failed" in _cond(world, name)["message"]


def test_a_spec_that_differs_from_the_signed_manifest_is_refused(world: dict[str, Any]) -> None:
    body, cms = make(world["v"], 1, {"resources/t.yaml": tenants_file("a")})
    body["spec"]["sequence"] = 99
    name = _put(world, (body, cms))
    _run(world, name)
    assert _tenants(world) == []
    assert "spec.sequence" in _cond(world, name)["message"]


def test_a_lower_sequence_is_refused_and_changes_nothing(world: dict[str, Any]) -> None:
    _install(world, 2, "a", "b")
    old = _put(world, make(world["v"], 1, {"resources/t.yaml": tenants_file("old")}))
    _run(world, old)
    assert _tenants(world) == ["a", "b"]
    assert _cond(world, old)["reason"] == api.Reason.ROLLBACK_REFUSED
    assert _cond(world, old, "Applied")["status"] == "False"


def test_a_permit_allows_the_downgrade_and_the_newer_bundle_is_superseded(
    world: dict[str, Any],
) -> None:
    newer = _install(world, 2, "a", "b")
    older = _install(world, 1, "a", permit=permit_for(world["v"], 1))
    assert _cond(world, older)["status"] == "True"
    assert _tenants(world) == ["a"]  # 'b' came with the newer bundle only: pruned
    _run(world, newer)
    assert _cond(world, newer)["reason"] == "Superseded"
    assert _cond(world, newer, "Stalled") == {}
    assert _tenants(world) == ["a"]


def test_a_permit_for_another_sequence_does_not_count(world: dict[str, Any]) -> None:
    _install(world, 3, "a")
    name = _put(
        world, make(world["v"], 1, {"resources/t.yaml": tenants_file("x")},
                    permit=permit_for(world["v"], 2)),
    )  # fmt: skip
    _run(world, name)
    assert _cond(world, name)["reason"] == api.Reason.ROLLBACK_REFUSED
    assert _tenants(world) == ["a"]


def test_an_upgrade_prunes_what_the_new_bundle_dropped_and_supersedes_the_old(
    world: dict[str, Any],
) -> None:
    first = _install(world, 1, "a", "b")
    _install(world, 2, "a", "c")
    assert _tenants(world) == ["a", "c"]
    _run(world, first)
    assert _cond(world, first)["reason"] == "Superseded"
    assert _tenants(world) == ["a", "c"]


def test_a_verification_failure_after_apply_keeps_the_applied_objects(
    world: dict[str, Any],
) -> None:
    name = _install(world, 1, "a")
    cm = next(o for (k, _, _), o in world["kube"].objects.items() if k == "ConfigMap")
    cm["binaryData"]["content"] = base64.b64encode(tenants_file("evil")).decode()
    _run(world, name)
    assert _cond(world, name)["reason"] == api.Reason.VERIFICATION_FAILED
    assert _tenants(world) == ["a"]


def test_a_bundle_chart_is_materialized_from_verified_content(world: dict[str, Any]) -> None:
    chart = b"\x1f\x8bfake-chart-archive"
    files = {"resources/t.yaml": tenants_file("a"), "charts/webapp-0.3.0.tgz": chart}
    name = _put(world, make(world["v"], 1, files))
    _run(world, name)
    settings = AgentSettings(trust_root=world["trust"])
    for ref in ("charts/webapp-0.3.0.tgz", "charts/webapp"):
        path = asyncio.run(materialize_chart(world["kube"], settings, ref))
        assert Path(path).read_bytes() == chart
    with pytest.raises(AgentError, match="no applied Bundle"):
        asyncio.run(materialize_chart(world["kube"], settings, "charts/other"))


def test_content_configmaps_are_never_pruned(world: dict[str, Any]) -> None:
    first = _install(world, 1, "a")
    content = next(o for (k, _, _), o in world["kube"].objects.items() if k == "ConfigMap")
    status = world["kube"].objects[("Bundle", "", first)]["status"]
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": content["metadata"]["name"]}
    status["applied"].append(ref | {"namespace": "outpost-system"})
    _install(world, 2, "b")
    assert _tenants(world) == ["b"]
    key = ("ConfigMap", "outpost-system", content["metadata"]["name"])
    assert key in world["kube"].objects


def test_a_stalled_object_holds_the_bundle_back(world: dict[str, Any]) -> None:
    name = _install(world, 1, "a")
    stalled = {"type": "Stalled", "status": "True", "reason": "QuotaBelowUsage", "message": "x"}
    world["kube"].objects[("Tenant", "", "a")]["status"] = {"conditions": [stalled]}
    _run(world, name)
    assert _cond(world, name)["reason"] == api.Reason.PROGRESSING
    assert "Tenant a" in _cond(world, name)["message"]
