"""Image reference parsing, the source → customer repository mapping, and `relocate_refs`."""

from __future__ import annotations

import pytest

import k8syaml
from refs.address import parse_address
from refs.relocation import (
    ImageReference,
    build_mapping,
    parse_reference,
    relocate,
    relocate_refs,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
REGISTRY = parse_address("mirror.corp:5000/outpost")
MAPPING = build_mapping([("registry.acme.dev/acme/api:2.14.0", D1), ("nginx:1.25", D2)], REGISTRY)
API = f"mirror.corp:5000/outpost/acme/api@{D1}"
NGINX = f"mirror.corp:5000/outpost/library/nginx@{D2}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "registry.acme.dev/acme/api:2.14.0",
            ImageReference("registry.acme.dev", "acme/api", "2.14.0"),
        ),
        ("localhost:5000/x@" + D1, ImageReference("localhost:5000", "x", None, D1)),
        ("nginx", ImageReference("docker.io", "library/nginx")),
        ("index.docker.io/bitnami/redis:7", ImageReference("docker.io", "bitnami/redis", "7")),
        ("acme/api:1.0@" + D1, ImageReference("docker.io", "acme/api", "1.0", D1)),
    ],
)
def test_references_are_parsed_and_normalised(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["hello world", "Upper/Case:1", "a:b:c", "x@sha256:short"])
def test_non_references_are_not_parsed(text: str) -> None:
    assert parse_reference(text) is None


def test_relocation_drops_the_source_domain_and_pins_the_digest() -> None:
    assert relocate("registry.acme.dev/acme/api:2.14.0", D1, REGISTRY) == API


def test_strings_under_any_key_are_relocated_when_known() -> None:
    values = {
        "image": "registry.acme.dev/acme/api:2.14.0",
        "sidecars": [{"image": "nginx:1.25"}, {"image": "nginx:1.26"}],
        "note": "not an image",
        "replicas": 3,
    }
    assert relocate_refs(values, MAPPING) == {
        "image": API,
        "sidecars": [{"image": NGINX}, {"image": "nginx:1.26"}],
        "note": "not an image",
        "replicas": 3,
    }


def test_repository_tag_maps_become_digest_pinned() -> None:
    values = {"image": {"repository": "registry.acme.dev/acme/api", "tag": "2.14.0"}}
    assert relocate_refs(values, MAPPING) == {
        "image": {"repository": "mirror.corp:5000/outpost/acme/api", "tag": f"2.14.0@{D1}"}
    }


def test_registry_repository_digest_maps_are_split_the_same_way() -> None:
    values = {
        "registry": "registry.acme.dev",
        "repository": "acme/api",
        "tag": "2.14.0",
        "digest": "",
    }
    assert relocate_refs(values, MAPPING) == {
        "registry": "mirror.corp:5000",
        "repository": "outpost/acme/api",
        "tag": "2.14.0",
        "digest": D1,
    }


def test_digest_references_map_too_and_input_is_not_mutated() -> None:
    doc = k8syaml.load(f"spec:\n  containers:\n  - image: registry.acme.dev/acme/api@{D1}\n")
    before = k8syaml.dump(doc)
    assert relocate_refs(doc, MAPPING)["spec"]["containers"][0]["image"] == API
    assert k8syaml.dump(doc) == before
