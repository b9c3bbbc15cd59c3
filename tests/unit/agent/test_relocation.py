"""agent.core.relocation: images in embedded manifests and Helm values, bundle chart references,
chart defaults merged, nothing mutated, no registry means no change, bad registry is explained;
and the reconciler glue's pure parts (chart defaults from an archive, which bundle chart)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.core.relocation import chart_location, relocate_resource, relocate_values
from agent.errors import ConfigError
from agent.kube.helm import Chart
from agent.reconcilers.relocate import bundle_chart, chart_defaults
from airgap.synthetic import write_chart
from bundle.charts import oci_digest
from bundle.manifest import ChartEntry, Manifest
from refs.address import parse_address
from refs.relocation import build_mapping

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
IMAGES = [
    ("registry.acme.example/acme/webapp:1.4.2", DIGEST),
    ("registry.acme.example/acme/report-api:2.0.1", OTHER),
]
REGISTRY = "mirror.corp:5000/outpost"
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def manifest_app() -> dict[str, Any]:
    container = {"name": "api", "image": "registry.acme.example/acme/report-api:2.0.1"}
    init = {"name": "init", "image": "registry.acme.example/acme/webapp@" + DIGEST}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {"template": {"spec": {"containers": [container], "initContainers": [init]}}},
    }
    return {
        "apiVersion": "outpost.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "report-api"},
        "spec": {"manifests": {"objects": [deployment]}},
    }


def helm_app(chart: str = "charts/webapp", values: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "outpost.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "webapp"},
        "spec": {"helm": {"chart": chart, "version": "0.3.0", "values": values or {}}},
    }


def test_containers_and_init_containers_point_at_the_registry_by_digest() -> None:
    app = manifest_app()
    before = copy.deepcopy(app)
    out = relocate_resource(app, IMAGES, REGISTRY)
    pod = out["spec"]["manifests"]["objects"][0]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"mirror.corp:5000/outpost/acme/report-api@{OTHER}"
    assert pod["initContainers"][0]["image"] == f"mirror.corp:5000/outpost/acme/webapp@{DIGEST}"
    assert app == before


def test_bundle_chart_becomes_an_oci_reference_and_values_get_the_digest() -> None:
    values = {"image": {"repository": "registry.acme.example/acme/webapp", "tag": "1.4.2",
                        "digest": ""}}  # fmt: skip
    out = relocate_resource(helm_app(values=values), IMAGES, REGISTRY)
    helm = out["spec"]["helm"]
    assert helm["chart"] == "oci://mirror.corp:5000/outpost/charts/webapp"
    assert helm["version"] == "0.3.0"
    assert helm["values"]["image"] == {
        "repository": "mirror.corp:5000/outpost/acme/webapp",
        "tag": "1.4.2",
        "digest": DIGEST,
    }


def test_values_overriding_only_the_tag_are_completed_from_the_chart_defaults() -> None:
    image = {"repository": "registry.acme.example/acme/webapp", "tag": "0.0.1", "digest": ""}
    defaults = {"replicas": 2, "image": image | {"pullPolicy": "Always"}}
    out = relocate_resource(
        helm_app(values={"image": {"tag": "1.4.2"}}), IMAGES, REGISTRY, defaults
    )
    assert out["spec"]["helm"]["values"] == {
        "image": {
            "repository": "mirror.corp:5000/outpost/acme/webapp",
            "tag": "1.4.2",
            "digest": DIGEST,
        }
    }


def test_image_string_values_are_relocated() -> None:
    mapping = build_mapping(IMAGES, parse_address(REGISTRY))
    out = relocate_values({"image": "registry.acme.example/acme/webapp:1.4.2"}, mapping)
    assert out == {"image": f"mirror.corp:5000/outpost/acme/webapp@{DIGEST}"}


@pytest.mark.parametrize(
    ("chart", "expected"),
    [
        ("charts/webapp", ("oci://r.example/p/charts/webapp", "")),
        ("charts/my-app-1.2.3-rc.1.tgz", ("oci://r.example/p/charts/my-app", "1.2.3-rc.1")),
        ("oci://elsewhere/charts/x", None),
        ("webapp", None),
    ],
)
def test_chart_location(chart: str, expected: tuple[str, str] | None) -> None:
    assert chart_location(chart, parse_address("r.example/p")) == expected


def test_archive_chart_takes_its_version_when_the_spec_has_none() -> None:
    app = helm_app(chart="charts/webapp-0.3.0.tgz")
    del app["spec"]["helm"]["version"]
    helm = relocate_resource(app, IMAGES, REGISTRY)["spec"]["helm"]
    assert (helm["chart"], helm["version"]) == (
        "oci://mirror.corp:5000/outpost/charts/webapp",
        "0.3.0",
    )


def test_repository_charts_and_unknown_images_are_left_alone() -> None:
    app = helm_app(values={"image": "docker.io/library/nginx:1.27"})
    app["spec"]["helm"] |= {"chart": "nginx", "repoURL": "https://charts.example"}
    out = relocate_resource(app, IMAGES, REGISTRY)
    assert out["spec"]["helm"]["chart"] == "nginx"
    assert out["spec"]["helm"]["values"] == {"image": "docker.io/library/nginx:1.27"}


def test_no_registry_means_no_relocation() -> None:
    app = manifest_app()
    assert relocate_resource(app, IMAGES, "") == app


def test_other_kinds_get_known_image_strings_relocated() -> None:
    obj = {"kind": "Widget", "spec": {"image": "registry.acme.example/acme/webapp:1.4.2"}}
    out = relocate_resource(obj, IMAGES, REGISTRY)
    assert out["spec"]["image"] == f"mirror.corp:5000/outpost/acme/webapp@{DIGEST}"


def test_an_unusable_registry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"spec\.registry"):
        relocate_resource(manifest_app(), IMAGES, "https://mirror.corp")


def test_chart_defaults_come_from_the_archive_values(tmp_path: Path) -> None:
    tgz = write_chart(tmp_path, "webapp", "0.3.0", image="registry.acme.example/acme/webapp:1")
    assert chart_defaults(tgz.read_bytes()) == {"image": "registry.acme.example/acme/webapp:1"}
    assert chart_defaults(b"not a tarball") == {}


def test_bundle_chart_matches_paths_names_and_versions() -> None:
    charts = (
        ChartEntry("charts/webapp-0.2.0.tgz", "webapp", "0.2.0"),
        ChartEntry("charts/webapp-0.3.0.tgz", "webapp", "0.3.0"),
    )
    manifest = Manifest("p", "stable", "1", 1, NOW, NOW, (), charts=charts)
    assert bundle_chart(manifest, {"chart": "charts/webapp", "version": "0.2.0"}) == charts[0]
    assert bundle_chart(manifest, {"chart": "charts/webapp"}) == charts[1]
    assert bundle_chart(manifest, {"chart": "charts/webapp-0.2.0.tgz"}) == charts[0]
    assert bundle_chart(manifest, {"chart": "oci://r/charts/webapp"}) is None
    assert bundle_chart(manifest, {"chart": "webapp", "repoURL": "https://c.example"}) is None


def test_a_bundle_chart_is_pulled_by_the_digest_of_its_signed_archive(tmp_path: Path) -> None:
    """Issue 11: the tag is irrelevant; helm gets `oci://…@sha256:…` and no `--version`."""
    archive = write_chart(tmp_path, "webapp", "0.3.0", image="registry.acme.example/acme/webapp")
    digest = oci_digest(archive.read_bytes())
    out = relocate_resource(helm_app(), IMAGES, REGISTRY, None, digest)
    helm = out["spec"]["helm"]
    assert helm["chart"] == f"oci://mirror.corp:5000/outpost/charts/webapp@{digest}"
    args = Chart(helm["chart"], helm["version"]).args()
    assert "--version" not in args
    assert args[0].endswith(f"@{digest}")
    assert Chart(helm["chart"]).name() == "webapp"
