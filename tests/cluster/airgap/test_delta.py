"""Delta bundles on a real docker-registry and the real control plane.

The base (sequence 1) is imported and marked Verified as the agent would; the delta (sequence 2)
adds one layer to the webapp image and was built with `--base`. Covers: the delta imported over
its base sends only the bytes the base lacks and creates its Bundle; a delta is refused, before
anything is pushed, in a cluster without its base; and refused, naming the digest, when a blob
it leaves to the base has gone from the registry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from airgap.localregistry import RegistryServer
from bundle.build import BuildRequest, build
from bundle.keyfiles import load_private
from bundle.keyring import decode_chain
from bundle.sample import EXAMPLES
from bundle.timestamps import now_utc
from bundle.verify import verify_bundle
from tests.cluster.airgap.kit import KIB, Site, imported, sample_images

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
JSON = ("--insecure-http", "--output", "json")


def delta_pair(site: Site) -> tuple[Path, Path]:
    """(base, delta): the delta's webapp has one more layer of 96 KiB, nothing else changed."""
    chain = decode_chain(site.keys.trust.read_bytes())
    key = [load_private(site.keys.bundle_key)]
    out: list[Path] = []
    for sequence, big in ((1, 0), (2, 96 * KIB)):
        layout = sample_images(site.tmp / f"oci-{sequence}", big, seed=7)
        path = site.tmp / f"{site.product}-{sequence}.tar"
        base = out[0] if out else None
        request = BuildRequest(
            EXAMPLES, path, f"1.{sequence}", sequence, product=site.product,
            images=(layout,), base=base,
        )  # fmt: skip
        build(request, chain, key, now_utc())
        out.append(path)
    return out[0], out[1]


def mark_verified(site: Site, sequence: int) -> None:
    """What the agent writes once it verified the Bundle (the agent does not run here)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {"type": "Verified", "status": "True", "reason": "Verified", "message": "ok",
                 "lastTransitionTime": now, "observedGeneration": 1}  # fmt: skip
    patch = json.dumps({"status": {"conditions": [condition]}})
    name = f"{site.product}-stable-{sequence}"
    site.kubectl.run("patch", "bundle", name, "--subresource=status", "--type=merge", "-p", patch)


def test_delta_imported_over_its_base_sends_only_what_is_new(
    site: Site, registry: RegistryServer
) -> None:
    base, delta = delta_pair(site)
    target = f"{registry.netloc}/mirror"
    imported(site.run(base, target, *JSON))
    mark_verified(site, 1)
    trust = site.keys.trust.read_bytes()
    carried = verify_bundle(delta, trust, now_utc()).manifest
    new_blobs = [f for f in carried.carried if f.path.startswith("images/blobs/")]
    result = imported(site.run(delta, target, *JSON))
    assert 0 < result["bytesSent"] <= sum(f.size for f in new_blobs)
    assert result["bundleObject"] == f"{site.product}-stable-2"
    obj = site.bundle_object(2)
    assert obj is not None
    assert obj["spec"]["registry"] == target
    left = [f for f in carried.from_base if f.path.startswith("images/blobs/")]
    assert left  # the unchanged layers and configs stayed with the base


def test_delta_is_refused_without_its_base(site: Site, registry: RegistryServer) -> None:
    _, delta = delta_pair(site)
    proc = site.run(delta, f"{registry.netloc}/mirror", *JSON)
    assert proc.returncode == 1
    assert "is not imported in this cluster" in proc.stderr
    assert registry.blob_files() == []
    assert site.bundle_object(2) is None


def test_delta_is_refused_when_a_base_blob_left_the_registry(
    site: Site, registry: RegistryServer
) -> None:
    base, delta = delta_pair(site)
    target = f"{registry.netloc}/mirror"
    imported(site.run(base, target, *JSON))
    mark_verified(site, 1)
    manifest = verify_bundle(delta, site.keys.trust.read_bytes(), now_utc()).manifest
    gone = next(
        "sha256:" + f.path.rsplit("/", 1)[1]
        for f in manifest.from_base
        if f.path.startswith("images/blobs/")
    )
    before = len(registry.blob_files())
    repos = ("mirror/acme/webapp", "mirror/acme/report-api")
    deleted = [
        r for r in repos if httpx.delete(f"http://{registry.netloc}/v2/{r}/blobs/{gone}").is_success
    ]
    assert len(deleted) == 1  # each image's own layers and configs live in one repository
    repo = deleted[0]
    proc = site.run(delta, target, *JSON)
    assert proc.returncode == 1, proc.stderr
    assert f"{repo}@{gone}" in proc.stderr
    assert "nothing was pushed" in proc.stderr
    assert len(registry.blob_files()) == before  # the new layer was not sent
    assert site.bundle_object(2) is None
