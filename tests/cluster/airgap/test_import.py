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

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.airgap.kit import REPORT_API, WEBAPP, Site, imported

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
JSON = ("--insecure-http", "--output", "json")


def skopeo_raw(skopeo: str, reference: str) -> bytes:
    argv = [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def test_dry_run_then_import_then_reimport(
    site: Site, registry: RegistryServer, skopeo: str
) -> None:
    bundle, _ = site.bundle()
    target = f"{registry.netloc}/mirror"

    plan = imported(site.run(bundle, target, *JSON, "--dry-run"))
    assert plan["dryRun"] is True
    assert plan["bytesToSend"] > 0
    assert plan["images"]["blobs"]["exists"] == 0
    assert plan["cluster"]["createsBundle"] is True
    assert plan["cluster"]["bundle"] == f"{site.product}-stable-1"
    assert registry.blob_files() == []
    assert site.bundle_object() is None

    first = imported(site.run(bundle, target, *JSON))
    assert first["bytesSent"] == plan["bytesToSend"]
    assert first["bundleObject"] == f"{site.product}-stable-1"
    targets = {i["source"]: i["target"] for i in first["images"]["images"]}
    assert set(targets) == {WEBAPP, REPORT_API}
    for source, ref in targets.items():
        assert ref.startswith(f"{registry.netloc}/mirror/acme/")
        index = skopeo_raw(skopeo, ref)
        assert "sha256:" + hashlib.sha256(index).hexdigest() == ref.rsplit("@", 1)[1]
        platforms = {m["platform"]["architecture"] for m in json.loads(index)["manifests"]}
        assert platforms == {"amd64", "arm64"}, source
    chart = json.loads(skopeo_raw(skopeo, f"{registry.netloc}/mirror/charts/webapp:0.3.0"))
    assert chart["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    obj = site.bundle_object()
    assert obj is not None
    assert obj["spec"]["registry"] == target

    second = imported(site.run(bundle, target, *JSON))
    assert second["bytesSent"] == 0
    assert second["images"]["blobsSent"] == 0
    assert (first["bundleCreated"], second["bundleCreated"]) == (True, False)
    again = site.bundle_object()
    assert again is not None
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_older_sequence_is_refused_before_anything_is_pushed(
    site: Site, registry: RegistryServer
) -> None:
    newer, _ = site.bundle(sequence=5)
    imported(site.run(newer, registry.netloc, *JSON))
    # As the agent marks a bundle it applied: it is now the one in force on the channel.
    applied = "outpost.dev/applied-at=2026-01-01T00:00:00.000000Z"
    site.kubectl.run("annotate", "bundle", f"{site.product}-stable-5", applied)
    older, _ = site.bundle(seed=99, sequence=4)
    before = registry.blob_files()
    proc = site.run(older, registry.netloc, "--insecure-http")
    assert proc.returncode == 2, proc.stderr  # an expected, explained refusal
    assert "rollback check failed" in proc.stderr
    assert registry.blob_files() == before
    assert site.bundle_object(4) is None
