"""The CRDs agree with agent/api.py and follow the house conventions; the examples fit them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import k8syaml
from agent import api

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "charts" / "outpost-agent" / "files" / "crds"
EXAMPLES = ROOT / "examples" / "bundle"
CONDITION_FIELDS = {"type", "status", "reason", "message", "observedGeneration",
                    "lastTransitionTime"}  # fmt: skip
READY = '.status.conditions[?(@.type=="Ready")]'
# The only places where unknown fields may be kept: Helm values and embedded manifests.
OPEN_PATHS = {"spec.helm.values", "spec.manifests.objects[]"}


@cache
def load(kind: api.KindInfo) -> dict[str, Any]:
    path = CRDS / f"{kind.crd_name}.yaml"
    docs = [d for d in k8syaml.load_all(path.read_text()) if d]
    assert len(docs) == 1, f"{path.name} must hold exactly one document"
    crd: dict[str, Any] = docs[0]
    return crd


def schema(kind: api.KindInfo) -> dict[str, Any]:
    version = load(kind)["spec"]["versions"][0]
    root: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return root


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from walk(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


KINDS = [pytest.param(kind, id=kind.kind) for kind in api.CRD_KINDS]


def test_one_file_per_kind() -> None:
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(
        f"{k.crd_name}.yaml" for k in api.CRD_KINDS
    )


@pytest.mark.parametrize("kind", KINDS)
def test_names_match_api(kind: api.KindInfo) -> None:
    crd = load(kind)
    spec = crd["spec"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == kind.crd_name
    assert spec["group"] == api.GROUP
    namespaced = kind is api.SUPPORT_BUNDLE_REQUEST  # lives in the agent namespace only
    assert spec["scope"] == ("Namespaced" if namespaced else "Cluster")
    names = spec["names"]
    assert (names["kind"], names["plural"], names["singular"]) == (
        kind.kind, kind.plural, kind.singular
    )  # fmt: skip
    assert tuple(names["shortNames"]) == kind.short_names
    assert names["categories"] == [api.CATEGORY]
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == (api.VERSION, True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_has_a_description(kind: api.KindInfo) -> None:
    # metadata is the one exception: the API server forbids anything but name constraints there.
    missing = [
        p for p, node in walk(schema(kind)) if p != "metadata" and not node.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_conditions_are_a_list_map(kind: api.KindInfo) -> None:
    status = schema(kind)["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["properties"]) == CONDITION_FIELDS
    assert "type" in item["required"]
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["reason"]["minLength"] == 1
    assert status["properties"]["observedGeneration"]["type"] == "integer"


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_fields_only_where_allowed(kind: api.KindInfo) -> None:
    open_paths = {p for p, n in walk(schema(kind)) if n.get("x-kubernetes-preserve-unknown-fields")}
    assert open_paths <= OPEN_PATHS
    assert not any(p.startswith("status") for p in open_paths)


@pytest.mark.parametrize("kind", KINDS)
def test_printer_columns(kind: api.KindInfo) -> None:
    columns = load(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
    by_name = {c["name"]: c for c in columns}
    assert by_name["Ready"]["jsonPath"] == f"{READY}.status"
    assert by_name["Reason"]["jsonPath"] == f"{READY}.reason"
    assert by_name["Message"]["jsonPath"] == f"{READY}.message"
    assert by_name["Message"]["priority"] == 1
    assert by_name["Age"]["type"] == "date"
    if kind is api.BUNDLE:
        assert by_name["Version"]["jsonPath"] == ".spec.version"
        assert by_name["Sequence"]["jsonPath"] == ".spec.sequence"
    if kind is api.SUPPORT_BUNDLE_REQUEST:
        assert by_name["Size"]["jsonPath"] == ".status.size"
        assert by_name["Uploaded"]["jsonPath"] == '.status.conditions[?(@.type=="Uploaded")].reason'


def test_tenant_quota_says_per_namespace() -> None:
    quota = schema(api.TENANT)["properties"]["spec"]["properties"]["quota"]
    assert "PER NAMESPACE" in quota["description"]


def test_application_requires_exactly_one_source() -> None:
    rules = schema(api.APPLICATION)["properties"]["spec"]["x-kubernetes-validations"]
    assert any(r["rule"] == "has(self.helm) != has(self.manifests)" for r in rules)
    objects = schema(api.APPLICATION)["properties"]["spec"]["properties"]["manifests"]
    item = objects["properties"]["objects"]["items"]
    assert item["x-kubernetes-embedded-resource"] is True


def examples() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((EXAMPLES / "resources").glob("*.yaml")):
        docs.extend(d for d in k8syaml.load_all(path.read_text()) if d)
    return docs


def test_examples_use_the_api() -> None:
    docs = examples()
    kinds = [d["kind"] for d in docs]
    assert kinds.count("DataPlane") == 1
    assert kinds.count("Tenant") == 3
    assert kinds.count("Application") == 3
    assert {d["apiVersion"] for d in docs} == {api.API_VERSION}


def test_example_chart_paths_exist() -> None:
    for doc in examples():
        chart = (doc.get("spec") or {}).get("helm", {}).get("chart")
        if chart:
            assert (EXAMPLES / chart / "Chart.yaml").is_file()
    chart = k8syaml.load((EXAMPLES / "charts" / "webapp" / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
