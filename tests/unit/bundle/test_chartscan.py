"""`bundle inspect` renders the bundle's charts: cluster-scoped objects, test hooks, warnings.

Aspects: the vendor-ingress chart's ClusterRole (with its rules), ClusterRoleBinding, IngressClass
and CRD, rendered with the values of the Application deploying it; vendor-web's test hook and a
warning for its image, which the bundle does not carry; chart defaults when no Application
deploys a chart; no helm binary is said, not failed on. `helm template` itself is the renderer.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundle.build import BuildRequest, build
from bundle.chartfacts import chart_facts, is_test_hook, pod_images
from bundle.manifest import ImageEntry
from outpost.cli import cli
from tests.unit.bundle.factory import NOW, oci_layout, vendor

CHARTS = Path(__file__).parents[2] / "data" / "charts"
APP = """apiVersion: outpost.dev/v1alpha1
kind: Application
metadata: {name: edge}
spec:
  namespace: edge-system
  helm:
    chart: charts/vendor-ingress
    values: {controller: {ingressClass: acme-edge}}
---
apiVersion: outpost.dev/v1alpha1
kind: Application
metadata: {name: lab}
spec:
  namespace: lab
  helm: {chart: charts/vendor-ingress-4.1.0.tgz, values: {controller: {ingressClass: lab}}}
"""


def helm_binary() -> str | None:
    """`$OUTPOST_HELM`, `helm` on PATH, or the local control plane's build when it is there."""
    if os.environ.get("OUTPOST_HELM") or shutil.which("helm"):
        return os.environ.get("OUTPOST_HELM") or shutil.which("helm")
    try:
        from devcluster.build import find_binaries

        built = find_binaries()
    except Exception:
        return None
    return str(built["helm"]) if built is not None else None


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for chart in ("vendor-ingress", "vendor-web"):
        shutil.copytree(CHARTS / chart, src / "charts" / chart)
    (src / "resources").mkdir()
    (src / "resources" / "10-edge.yaml").write_text(APP)
    oci = oci_layout(tmp_path / "oci", ref="registry.example/vendor/web:2.1.0")
    v = vendor()
    request = BuildRequest(src, tmp_path / "b.tar", "1.0.0", 1, product="acme", images=(oci,))
    build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
    return tmp_path / "b.tar"


def inspect_json(path: Path) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["bundle", "inspect", str(path), "--output", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_inspect_lists_cluster_scoped_objects_hooks_and_warnings(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm = helm_binary()
    if helm is None:
        pytest.skip("no helm binary: OUTPOST_HELM unset, none on PATH, no local build")
    monkeypatch.setenv("OUTPOST_HELM", helm)
    charts = {c["values"]: c for c in inspect_json(bundle)["chart_scan"]["charts"]}
    assert set(charts) == {"Application 'edge'", "Application 'lab'", "chart defaults"}
    ingress, web = charts["Application 'edge'"], charts["chart defaults"]
    assert web["name"] == "vendor-web"
    lab = {(o["kind"], o["name"]) for o in charts["Application 'lab'"]["cluster_scoped"]}
    assert ("IngressClass", "lab") in lab
    assert ingress["values"] == "Application 'edge'"
    assert web["values"] == "chart defaults"
    found = {(o["kind"], o["name"]): o for o in ingress["cluster_scoped"]}
    assert set(found) == {
        ("ClusterRole", "edge-controller"),
        ("ClusterRoleBinding", "edge-controller"),
        ("IngressClass", "acme-edge"),  # the Application's value, not the chart's `vendor`
        ("CustomResourceDefinition", "gateways.ingress.example.com"),
    }
    assert found["ClusterRole", "edge-controller"]["rules"] == [
        {
            "apiGroups": ["networking.k8s.io"],
            "resources": ["ingresses", "ingressclasses"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    assert ingress["test_hooks"] == []
    assert ingress["warnings"] == []
    assert web["cluster_scoped"] == []
    assert web["test_hooks"] == [
        {
            "kind": "Pod",
            "name": "vendor-web-test-connection",
            "images": ["registry.example/tools/busybox:1.36"],
        }
    ]
    assert web["warnings"] == [
        "test hook Pod/vendor-web-test-connection uses image registry.example/tools/busybox:1.36,"
        " which is not in the bundle"
    ]
    text = CliRunner().invoke(cli, ["bundle", "inspect", str(bundle)]).stdout
    assert "chart vendor-ingress 4.1.0 (Application 'lab'): cluster-scoped IngressClass/lab" in text
    assert (
        "WARNING: chart vendor-web 1.4.0 (chart defaults): test hook Pod/vendor-web-test-connection"
        in text
    )


def test_without_helm_inspect_says_so(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPOST_HELM", str(bundle.parent / "no-such-helm"))
    scan = inspect_json(bundle)["chart_scan"]
    assert scan["helm"] is None
    assert scan["charts"] == []
    assert "no helm binary found" in scan["note"]


def test_hook_images_carried_by_tag_or_digest_raise_no_warning() -> None:
    digest = "sha256:" + "a" * 64
    hook = {
        "kind": "Job",
        "metadata": {"name": "t", "annotations": {"helm.sh/hook": "pre-install, test"}},
        "spec": {"template": {"spec": {"containers": [{"image": "busybox:1.36"}]}}},
    }
    by_digest = {**hook, "spec": {"template": {"spec": {"containers": [
        {"image": f"docker.io/library/busybox@{digest}"}
    ]}}}}  # fmt: skip
    images = [ImageEntry("docker.io/library/busybox:1.36", digest, "", ())]
    assert is_test_hook(hook)
    assert pod_images(hook) == ["busybox:1.36"]
    assert chart_facts([hook, by_digest], images)["warnings"] == []
    assert len(chart_facts([hook], [])["warnings"]) == 1


def test_a_tampered_chart_is_named_not_rendered(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTPOST_HELM", "/bin/true")  # never reached for the tampered chart
    with tarfile.open(bundle) as tar:
        offset = tar.getmember("charts/vendor-web-1.4.0.tgz").offset_data
    with bundle.open("r+b") as f:
        f.seek(offset + 100)
        byte = f.read(1)
        f.seek(offset + 100)
        f.write(bytes([byte[0] ^ 0xFF]))
    charts = {c["name"]: c for c in inspect_json(bundle)["chart_scan"]["charts"]}
    assert "does not match" in charts["vendor-web"]["error"]
