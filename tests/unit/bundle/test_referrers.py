"""Referrers in the vendor's OCI layout go into the bundle, signed, and are checked on verify.

Aspects: an unnamed index entry with a `subject` is carried as a referrer (listed in the signed
manifest with its artifact type and subject, its blobs in the bundle); the bundle verifies; a
referrer whose subject is not a carried image is refused at build time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.synthetic import ImageSpec, attach_referrer, write_layout
from bundle.build import BuildRequest, build
from bundle.errors import BundleError
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, source_tree, vendor

REF = "registry.acme.dev/acme/api:2.14.0"
SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json"


def signed_layout(root: Path) -> tuple[Path, dict[str, object], dict[str, object]]:
    write_layout(root, [ImageSpec(REF, layer_sizes=(512,))], seed=1)
    top = json.loads((root / "index.json").read_text())["manifests"][0]
    return root, top, attach_referrer(root, top, SIGNATURE, b'{"signed": true}')


def test_referrer_travels_in_the_bundle_and_verifies(tmp_path: Path) -> None:
    v = vendor()
    layout, top, sig = signed_layout(tmp_path / "oci")
    out = tmp_path / "b.tar"
    request = BuildRequest(source_tree(tmp_path / "src"), out, "1.0", 3, images=(layout,))
    build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
    verified = verify_bundle(out, v.trust_root(), NOW, staging=tmp_path / "x")
    (referrer,) = verified.manifest.referrers
    assert (referrer.digest, referrer.subject) == (sig["digest"], top["digest"])
    assert referrer.artifact_type == SIGNATURE
    assert (tmp_path / "x/images/blobs/sha256" / str(sig["digest"])[7:]).is_file()
    assert [i.source for i in verified.manifest.images] == [REF]


def test_referrer_of_something_not_carried_is_refused(tmp_path: Path) -> None:
    v = vendor()
    layout, top, _ = signed_layout(tmp_path / "oci")
    stranger = {"mediaType": top["mediaType"], "digest": "sha256:" + "e" * 64, "size": 10}
    attach_referrer(layout, stranger, SIGNATURE, b"{}")
    request = BuildRequest(source_tree(tmp_path / "src"), tmp_path / "b.tar", "1.0", 3,
                           images=(layout,))  # fmt: skip
    with pytest.raises(BundleError, match="not a manifest of any carried image"):
        build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
