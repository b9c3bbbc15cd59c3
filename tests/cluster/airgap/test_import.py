"""`outpost airgap import` on a real docker-registry and the real control plane.

Covers: the dry run (plan, bytes, the Bundle it would create; nothing sent or created); a full
import (every image by digest as skopeo sees it, both platforms kept, charts as OCI artifacts,
the Bundle with `spec.registry`); a second import sending 0 bytes and creating nothing; and
the anti-rollback refusal of an older sequence before anything is pushed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.agent.agentkit import Kubectl
from tests.cluster.airgap.kit import (
    REPORT_API,
    WEBAPP,
    SampleKeys,
    build_bundle,
    imported,
    run_import,
    sample_images,
)
from tests.conftest import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.registry]


def skopeo_raw(skopeo: str, reference: str) -> bytes:
    argv = [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def test_dry_run_then_import_then_reimport(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    skopeo: str,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    layout = sample_images(tmp_path / "oci")
    bundle = build_bundle(keys, tmp_path, product, layout)
    target = f"{registry.netloc}/mirror"
    args = (cluster, bundle, keys, target, namespace, "--insecure-http", "--output", "json")

    plan = imported(run_import(*args, "--dry-run"))
    assert plan["dryRun"] is True and plan["bytesToSend"] > 0
    assert plan["images"]["blobs"]["exists"] == 0
    assert plan["cluster"]["createsBundle"] is True
    assert plan["cluster"]["bundle"] == f"{product}-stable-1"
    assert registry.blob_files() == []
    assert kubectl.get("bundle", f"{product}-stable-1") is None

    first = imported(run_import(*args))
    assert first["bytesSent"] == plan["bytesToSend"]
    assert first["bundleObject"] == f"{product}-stable-1"
    targets = {i["source"]: i["target"] for i in first["images"]["images"]}
    assert set(targets) == {WEBAPP, REPORT_API}
    for source, ref in targets.items():
        assert ref.startswith(f"{registry.netloc}/mirror/acme/")
        index = skopeo_raw(skopeo, ref)
        assert "sha256:" + hashlib.sha256(index).hexdigest() == ref.rsplit("@", 1)[1]
        platforms = {m["platform"]["architecture"] for m in json.loads(index)["manifests"]}
        assert platforms == {"amd64", "arm64"}, source
    chart = skopeo_raw(skopeo, f"{registry.netloc}/mirror/charts/webapp:0.3.0")
    assert json.loads(chart)["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    obj = kubectl.get("bundle", f"{product}-stable-1")
    assert obj is not None and obj["spec"]["registry"] == target

    second = imported(run_import(*args))
    assert second["bytesSent"] == 0
    assert second["images"]["blobsSent"] == 0
    again = kubectl.get("bundle", f"{product}-stable-1")
    assert again is not None
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_older_sequence_is_refused_before_anything_is_pushed(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    layout = sample_images(tmp_path / "oci")
    newer = build_bundle(keys, tmp_path, product, layout, sequence=5)
    flags = ("--insecure-http", "--output", "json")
    imported(run_import(cluster, newer, keys, registry.netloc, namespace, *flags))
    # As the agent marks a bundle it applied: it is now the one in force on the channel.
    applied = "outpost.dev/applied-at=2026-01-01T00:00:00.000000Z"
    kubectl.run("annotate", "bundle", f"{product}-stable-5", applied)
    other = sample_images(tmp_path / "oci-other", seed=99)
    older = build_bundle(keys, tmp_path, product, other, sequence=4)
    before = registry.blob_files()
    proc = run_import(cluster, older, keys, registry.netloc, namespace, "--insecure-http")
    assert proc.returncode == 1, proc.stderr
    assert "rollback check failed" in proc.stderr
    assert registry.blob_files() == before
    assert kubectl.get("bundle", f"{product}-stable-4") is None
