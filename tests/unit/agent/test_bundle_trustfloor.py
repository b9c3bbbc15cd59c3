"""The Bundle reconciler keeps the trust floor: a retired bundle key cannot sign again.

Aspects: the floor ConfigMap is created and raised as newer keyrings verify; a Bundle signed by
the retired key carrying only the old chain is refused (RollbackRefused) with nothing applied,
also after every Bundle object was deleted; a floor at the same version with another keyring
refuses; a superseded Bundle is not judged by the floor.
"""

from __future__ import annotations

from typing import Any

from agent import api
from bundle.keyring import from_payload
from bundle.lineage import APPLIED_AT
from facts.api import TRUST_FLOOR_CONFIGMAP
from tests.unit.agent.bundlekit import NAMESPACE, make, tenants_file, tenants_ready
from tests.unit.agent.test_bundle_reconcile import _cond, _put, _run, _tenants, world
from tests.unit.bundle.factory import key, rotate_bundle_key

__all__ = ["world"]  # the fixture, shared with the reconciler tests


def floor(w: dict[str, Any]) -> dict[str, str]:
    cm = w["kube"].objects.get(("ConfigMap", NAMESPACE, TRUST_FLOOR_CONFIGMAP))
    return dict((cm or {}).get("data") or {})


def put_floor(w: dict[str, Any], data: dict[str, str]) -> None:
    meta = {"name": TRUST_FLOOR_CONFIGMAP, "namespace": NAMESPACE}
    w["kube"].put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})


def install(w: dict[str, Any], v: Any, seq: int, *names: str) -> str:
    name = _put(w, make(v, seq, {"resources/t.yaml": tenants_file(*names)}))
    _run(w, name)
    tenants_ready(w["kube"])
    _run(w, name)
    return name


def test_retired_key_bundle_is_refused_even_after_bundles_are_deleted(
    world: dict[str, Any],
) -> None:
    v1 = world["v"]
    first = install(world, v1, 1, "a")
    digest1 = from_payload(v1.chain[0].payload).digest
    expected = {"keyringVersion": "1", "keyringDigest": f"sha256:{digest1}"}
    assert {k: v for k, v in floor(world).items() if k in expected} == expected
    v2 = rotate_bundle_key(v1, key("bundle-after-rotation"))
    second = install(world, v2, 2, "a", "b")
    assert floor(world)["keyringVersion"] == "2"
    assert _cond(world, second)["status"] == "True"
    for name in (first, second):  # whoever may delete Bundles wipes the channel's history
        del world["kube"].objects[("Bundle", "", name)]
    # The red team's bundle: signed by v1's bundle key, carrying only the v1 chain.
    evil = install(world, v1, 3, "a", "b", "evil")
    assert _cond(world, evil)["reason"] == api.Reason.ROLLBACK_REFUSED
    assert "trust rollback check failed" in _cond(world, evil)["message"]
    assert "already trusts keyring v2" in _cond(world, evil)["message"]
    assert "evil" not in _tenants(world)
    meta = world["kube"].objects[("Bundle", "", evil)]["metadata"]
    assert APPLIED_AT not in (meta.get("annotations") or {})
    assert floor(world)["keyringVersion"] == "2"


def test_same_version_with_another_keyring_is_refused(world: dict[str, Any]) -> None:
    put_floor(world, {"keyringVersion": "1", "keyringDigest": "sha256:" + "ab" * 32})
    name = install(world, world["v"], 1, "a")
    assert _cond(world, name)["reason"] == api.Reason.ROLLBACK_REFUSED
    assert "two keyrings with one version" in _cond(world, name)["message"]
    assert _tenants(world) == []


def test_an_unreadable_floor_refuses_rather_than_forgets(world: dict[str, Any]) -> None:
    put_floor(world, {"keyringVersion": "two"})
    name = install(world, world["v"], 1, "a")
    assert _cond(world, name)["reason"] == api.Reason.ROLLBACK_REFUSED
    assert _tenants(world) == []


def test_a_floor_written_meanwhile_is_read_again(world: dict[str, Any]) -> None:
    """`bundle apply` creates the floor between the agent's read and its create: no failure."""
    kube = world["kube"]
    create = kube.create

    async def racing_create(obj: dict[str, Any]) -> dict[str, Any]:
        if obj["metadata"]["name"] == TRUST_FLOOR_CONFIGMAP and not floor(world):
            digest = from_payload(world["v"].chain[0].payload).digest
            put_floor(world, {"keyringVersion": "1", "keyringDigest": f"sha256:{digest}"})
        return await create(obj)

    kube.create = racing_create
    name = _put(world, make(world["v"], 1, {"resources/t.yaml": tenants_file("a")}))
    _run(world, name)  # one visit: the conflict is absorbed, the bundle applied
    meta = world["kube"].objects[("Bundle", "", name)]["metadata"]
    assert APPLIED_AT in (meta.get("annotations") or {})
    assert floor(world)["keyringVersion"] == "1"
