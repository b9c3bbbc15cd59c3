"""Honest Bundle status and the Bundle's own objects held (issue 11, findings 7, 11, 12).

The Bundle is Ready only once every Tenant and Application it carries is Ready (or Unknown for
lack of a status on custom resources); a hand edit of a Tenant it applied is put back with an
Event; what it creates is queued for a first visit at once; a change to a bundle-owned object
makes its Bundle look again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agent import api
from agent.kube.helm import Helm
from agent.reconcilers.context import Context
from agent.reconcilers.dispatch import reconcile
from agent.runtime.metrics import Metrics
from agent.runtime.triggers import Triggers
from agent.settings import AgentSettings
from tests.unit.agent.bundlekit import make, tenants_file, tenants_ready
from tests.unit.agent.test_bundle_reconcile import _cond, _put, world

__all__ = ["world"]


def run(world: dict[str, Any], name: str) -> list[tuple[str, float]]:
    """One Bundle visit; returns what it queued."""
    queued: list[tuple[str, float]] = []
    ctx = Context(
        kube=world["kube"], helm=Helm("helm-not-used", {}, 1),
        settings=AgentSettings(trust_root=world["trust"]),
        triggers=Triggers(lambda key, delay: queued.append((key, delay)), lambda: None),
        metrics=Metrics(), now=world["clock"].tick,
    )  # fmt: skip
    asyncio.run(reconcile(ctx, "Bundle", name))
    return queued


def installed(world: dict[str, Any], *names: str) -> tuple[str, list[tuple[str, float]]]:
    name = _put(world, make(world["v"], 1, {"resources/t.yaml": tenants_file(*names)}))
    return name, run(world, name)


def tenant(world: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = world["kube"].objects[("Tenant", "", name)]
    return found


def test_the_bundle_is_not_ready_before_its_tenants_are(world: dict[str, Any]) -> None:
    name, _ = installed(world, "a", "b")
    run(world, name)
    ready = _cond(world, name)
    assert (ready["status"], ready["reason"]) == ("False", api.Reason.PROGRESSING)
    assert "Tenant a" in ready["message"]
    assert _cond(world, name, "Reconciling")["status"] == "True"
    assert _cond(world, name, "Applied")["status"] == "True"  # applied, just not Ready
    tenants_ready(world["kube"])
    bad = {"type": "Ready", "status": "False", "reason": "QuotaBelowUsage", "message": "x"}
    tenant(world, "b")["status"]["conditions"] = [bad]
    run(world, name)
    assert _cond(world, name)["status"] == "False"
    assert "Tenant b" in _cond(world, name)["message"]
    assert "Tenant a" not in _cond(world, name)["message"]
    reason = api.Reason.CUSTOM_RESOURCE_HEALTH_UNKNOWN
    unknown = {"type": "Ready", "status": "Unknown", "reason": reason, "message": "no status"}
    tenant(world, "b")["status"]["conditions"] = [unknown]
    run(world, name)
    assert _cond(world, name)["status"] == "True"


def test_a_stale_status_does_not_count_as_ready(world: dict[str, Any]) -> None:
    name, _ = installed(world, "a")
    tenants_ready(world["kube"])
    tenant(world, "a")["metadata"]["generation"] = 7  # changed since its status was written
    run(world, name)
    assert _cond(world, name)["status"] == "False"


def test_a_hand_edit_of_a_bundle_owned_tenant_is_put_back_with_an_event(
    world: dict[str, Any],
) -> None:
    name, _ = installed(world, "a")
    tenants_ready(world["kube"])
    run(world, name)
    signed = tenant(world, "a")["spec"]
    tenant(world, "a")["spec"] = {**signed, "namespaces": ["by-hand"]}
    run(world, name)
    assert tenant(world, "a")["spec"]["namespaces"] == signed["namespaces"]
    assert (name, "Normal", "Reverted") in world["kube"].events


def test_what_the_bundle_creates_is_visited_at_once(world: dict[str, Any]) -> None:
    _, queued = installed(world, "a", "b")
    assert ("Tenant/a", 0.0) in queued
    assert ("Tenant/b", 0.0) in queued


def test_a_change_to_a_bundle_owned_object_wakes_its_bundle() -> None:
    queued: list[tuple[str, float]] = []
    triggers = Triggers(lambda key, delay: queued.append((key, delay)), lambda: None)
    body = {"metadata": {"name": "web", "annotations": {"outpost.dev/bundle": "acme-stable-3"}},
            "spec": {}}  # fmt: skip
    triggers.owned("Application", "MODIFIED", body)
    assert any(key == "Bundle/acme-stable-3" for key, _ in queued)
