"""The upgrade plan's comparison: objects per kind and namespace, images, charts, CRD breaks."""

from __future__ import annotations

from typing import Any

from bundle.plan import Content, compare, crd_breaking


def cm(name: str, value: str = "x", ns: str = "a") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": {"k": value}}  # fmt: skip


def crd(versions: dict[str, bool], props: list[str], required: list[str]) -> dict[str, Any]:
    spec = {"type": "object", "properties": {p: {"type": "string"} for p in props},
            "required": required}  # fmt: skip
    schema = {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}}
    listed = [{"name": v, "served": on, "schema": schema} for v, on in versions.items()]
    return {"metadata": {"name": "w.x"}, "spec": {"versions": listed}}


def test_objects_images_charts() -> None:
    old = Content([cm("a"), cm("b")], (), ["img:1", "db:1"], {"web": "1.0"})
    new = Content([cm("a", "y"), cm("c")], (), ["img:2", "db:1"], {"web": "1.1"})
    plan = compare(old, new)
    assert plan.objects == {"ConfigMap a": {"added": ["c"], "changed": ["a"], "pruned": ["b"]}}
    assert plan.images == {"new": ["img:2"], "dropped": ["img:1"]}
    assert plan.charts == ["web: 1.0 -> 1.1"]


def test_crd_breaking_changes() -> None:
    old = crd({"v1beta1": True, "v1": True}, ["size", "color"], [])
    assert crd_breaking(old, old) == []
    new = crd({"v1beta1": False, "v1": True}, ["size"], ["size"])
    assert crd_breaking(old, new) == [
        "served version v1beta1 removed",
        "field spec.color removed (v1)",
        "field spec.size made required (v1)",
    ]
    added_field = crd({"v1beta1": True, "v1": True}, ["size", "color", "shape"], [])
    assert crd_breaking(old, added_field) == []
