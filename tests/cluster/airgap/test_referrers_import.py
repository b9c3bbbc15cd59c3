"""Referrers through a whole `airgap import`: signed in the bundle, relocated, found by oras.

The vendor attaches a signature to the webapp index in its OCI layout (`oras attach`); the
bundle carries it; after the import into docker-registry, `oras discover` on the relocated
digest lists the signature with its artifact type.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.airgap.kit import WEBAPP, Site, build_bundle, imported, sample_images
from tests.registry.conftest import oras  # noqa: F401 - fixture

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
SIG = "application/vnd.dev.cosign.simplesigning.v1+json"


def test_signature_in_the_bundle_is_discoverable_after_import(
    site: Site,
    registry: RegistryServer,
    oras: str,  # noqa: F811
) -> None:
    layout = sample_images(site.tmp / "oci", seed=7)
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    webapp = next(e for e in entries if e["annotations"].get(
        "org.opencontainers.image.ref.name") == WEBAPP)  # fmt: skip
    (site.tmp / "sig.json").write_text('{"signed": "webapp"}')
    argv = [oras, "attach", "--oci-layout", f"{layout}@{webapp['digest']}",
            "--artifact-type", SIG, "--format", "json", "sig.json"]  # fmt: skip
    done = subprocess.run(argv, cwd=site.tmp, capture_output=True, text=True, check=True)
    signature = json.loads(done.stdout)["digest"]
    bundle = build_bundle(site.keys, site.tmp, site.product, layout)
    result = imported(site.run(bundle, f"{registry.netloc}/mirror", "--insecure-http",
                               "--output", "json"))  # fmt: skip
    target = next(i["target"] for i in result["images"]["images"] if i["source"] == WEBAPP)
    found = subprocess.run(
        [oras, "discover", "--plain-http", "--format", "json", target],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    listed = json.loads(found.stdout)["referrers"]
    assert [(r["digest"], r["artifactType"]) for r in listed] == [(signature, SIG)]
