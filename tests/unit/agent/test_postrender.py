"""Relocation from what is rendered (issue 11, finding 9; hook images of finding 12).

The vendor-ingress chart computes its controller image in a template (null defaults completed
from `appVersion`); vendor-web's test hook uses an image of its own. The post-renderer relocates
every container image it finds, and refuses, by name, any the bundle does not carry. With
`OUTPOST_HELM`, real `helm template` runs it as a Helm 4 plugin.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from agent.errors import HelmError
from agent.kube.helm import Chart, Helm
from agent.kube.postrender import Unrelocated, relocate_stream

CHARTS = Path(__file__).resolve().parents[2] / "data" / "charts"
TARGET = "mirror.corp:5000/outpost/ingress/controller@sha256:" + "a" * 64
MAPPING = {"registry.example/ingress/controller:v1.9.4": TARGET}
RENDERED = """
# Source: vendor-ingress/templates/deployment.yaml
apiVersion: apps/v1
kind: CronJob
metadata: {name: sweep}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{name: i, image: "registry.example/ingress/controller:v1.9.4"}]
          containers: [{name: c, image: "%s"}]
"""


def test_images_found_at_any_depth_are_relocated() -> None:
    out = relocate_stream(RENDERED % "registry.example/ingress/controller:v1.9.4", MAPPING)
    assert out.count(TARGET) == 2
    assert "registry.example" not in out


def test_an_image_already_relocated_passes_and_an_unknown_one_is_refused_by_name() -> None:
    assert TARGET in relocate_stream(RENDERED % TARGET, MAPPING)
    with pytest.raises(Unrelocated, match=r"'docker.io/evil:1' \(CronJob sweep\)"):
        relocate_stream(RENDERED % "docker.io/evil:1", MAPPING)


needs_helm = pytest.mark.skipif(
    not os.environ.get("OUTPOST_HELM"), reason="OUTPOST_HELM names no helm binary"
)


def helm(tmp_path: Path) -> Helm:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    env |= {f"HELM_{p}_HOME": str(tmp_path / p.lower()) for p in ("CACHE", "CONFIG", "DATA")}
    return Helm(os.environ["OUTPOST_HELM"], env, 1)


@needs_helm
def test_helm_relocates_an_image_computed_in_a_template(tmp_path: Path) -> None:
    chart = Chart(str(CHARTS / "vendor-ingress"))
    objs = asyncio.run(helm(tmp_path).template("r", "ns", chart, {}, MAPPING))
    images = [c["image"] for o in objs if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]]  # fmt: skip
    assert images == [TARGET]


@needs_helm
def test_helm_refuses_a_test_hook_image_the_bundle_lacks(tmp_path: Path) -> None:
    pinned = "mirror.corp:5000/outpost/x@sha256:" + "b" * 64
    mapping = {"registry.example/vendor/web:2.1.0": pinned,
               "registry.example/vendor/cache:7.2": pinned}  # fmt: skip
    chart = Chart(str(CHARTS / "vendor-web"))
    with pytest.raises(HelmError) as caught:
        asyncio.run(helm(tmp_path).template("r", "ns", chart, {}, mapping))
    assert "registry.example/tools/busybox:1.36" in caught.value.stderr
    assert "Pod r-test-connection" in caught.value.stderr
    mapping["registry.example/tools/busybox:1.36"] = pinned
    objs = asyncio.run(helm(tmp_path).template("r", "ns", chart, {}, mapping))
    assert pinned in json.dumps(objs)
