"""Built bundles through the verifier: signatures, keys, thresholds, expiry, mix-and-match.

Aspects: a changed byte in the manifest payload, a signature or a content file; a wrong key; too
few signatures; expired manifest and keyring; a file from another bundle; a bundle signed by a
retired key after rotation; the OCI graph; re-verification of stored objects.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from bundle import dsse
from bundle.build import BuildRequest, build
from bundle.errors import ArchiveError, BundleError, ExpiredError, KeyringError, SignatureError
from bundle.manifest import from_payload
from bundle.stored import check_content, verify_stored
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, build_bundle, key, rotate_bundle_key, vendor
from tests.unit.bundle.tarcraft import (
    flip_payload_byte,
    flip_signature_byte,
    read_members,
    replace_member,
    write_members,
)


def test_built_bundle_verifies_and_stages_everything(tmp_path: Path) -> None:
    v = vendor()
    path = build_bundle(tmp_path, v)
    result = verify_bundle(path, v.trust_root(), NOW, staging=tmp_path / "st")
    manifest = result.manifest
    assert [r.order for r in manifest.resources] == [5, 10]
    assert manifest.charts[0].name == "demo"
    assert manifest.images[0].platforms == ("linux/amd64", "linux/arm64")
    for entry in manifest.files:
        assert (tmp_path / "st" / entry.path).stat().st_size == entry.size


def test_build_is_deterministic_apart_from_time(tmp_path: Path) -> None:
    v = vendor()
    first = build_bundle(tmp_path, v, name="one.tar").read_bytes()
    assert build_bundle(tmp_path, v, name="two.tar").read_bytes() == first


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (flip_payload_byte, SignatureError, "signature check failed: manifest"),
        (flip_signature_byte, SignatureError, "signature check failed: manifest"),
    ],
)
def test_changed_manifest_byte_fails(
    tmp_path: Path, change: object, error: type, match: str
) -> None:
    v = vendor()
    members = read_members(build_bundle(tmp_path, v))
    original = next(m for m in members if m.name == "manifest.dsse.json")
    evil = replace_member(members, original.name, change(original.data))  # type: ignore[operator]
    with pytest.raises(error, match=match):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_changed_content_byte_fails(tmp_path: Path) -> None:
    v = vendor()
    members = read_members(build_bundle(tmp_path, v))
    evil = replace_member(
        members,
        "resources/5-first.yaml",
        b"apiVersion: acme.dev/v1\nkind: Widgex\nmetadata: {name: first}\n",
    )
    with pytest.raises(ArchiveError, match=r"digest check failed: 'resources/5-first.yaml'"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_file_from_another_bundle_fails(tmp_path: Path) -> None:
    v = vendor()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = read_members(build_bundle(tmp_path / "a", v))
    other_src = tmp_path / "b" / "src"
    build_bundle(tmp_path / "b", v)
    (other_src / "resources" / "10-widget.yaml").write_text("apiVersion: x/v1\nkind: Other\n")
    b = read_members(build_bundle(tmp_path / "b", v, name="b2.tar"))
    swapped = next(m for m in b if m.name == "resources/10-widget.yaml")
    evil = replace_member(a, swapped.name, swapped.data)
    with pytest.raises(ArchiveError, match=r"size check failed|digest check failed"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_wrong_key_fails(tmp_path: Path) -> None:
    v, stranger = vendor(), vendor(tag="other")
    path = build_bundle(tmp_path, stranger)
    with pytest.raises(KeyringError, match=r"differs from the trusted keyring v1"):
        verify_bundle(path, v.trust_root(), NOW)


def test_manifest_signed_by_a_key_outside_the_bundle_role_fails(tmp_path: Path) -> None:
    v = vendor()
    members = read_members(build_bundle(tmp_path, v))
    manifest = next(m for m in members if m.name == "manifest.dsse.json")
    payload = dsse.parse(manifest.data).payload
    forged = dsse.sign(dsse.PAYLOAD_MANIFEST, payload, [v.roots[0]]).to_json()
    evil = replace_member(members, manifest.name, forged)
    with pytest.raises(SignatureError, match=r"0 valid signature"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_build_refuses_too_few_signatures(tmp_path: Path) -> None:
    v = vendor(bundle_threshold=2)
    with pytest.raises(BundleError, match=r"meet 1 of the 2 signature"):
        build_bundle(tmp_path, v, signers=v.bundle_keys[:1])
    assert not (tmp_path / "b.tar").exists()


def test_too_few_signatures_fail_verification(tmp_path: Path) -> None:
    v = vendor(bundle_threshold=2)
    members = read_members(build_bundle(tmp_path, v, signers=v.bundle_keys))
    manifest = next(m for m in members if m.name == "manifest.dsse.json")
    env = dsse.parse(manifest.data)
    one = dsse.Envelope(env.payload_type, env.payload, env.signatures[:1]).to_json()
    evil = replace_member(members, manifest.name, one)
    with pytest.raises(SignatureError, match=r"1 valid signature.*2 required"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_expired_manifest_fails(tmp_path: Path) -> None:
    v = vendor()
    path = build_bundle(tmp_path, v, expires_in=timedelta(days=30))
    with pytest.raises(ExpiredError, match=r"expiry check failed: manifest"):
        verify_bundle(path, v.trust_root(), NOW + timedelta(days=31))


def test_expired_keyring_fails(tmp_path: Path) -> None:
    v = vendor()
    path = build_bundle(tmp_path, v, expires_in=timedelta(days=900))
    with pytest.raises(ExpiredError, match=r"expiry check failed: keyring v1"):
        verify_bundle(path, v.trust_root(), NOW + timedelta(days=400))


def test_rotated_bundle_key_verifies_from_old_trust_root(tmp_path: Path) -> None:
    v2 = rotate_bundle_key(vendor(), key("bundle-v2"))
    path = build_bundle(tmp_path, v2)
    result = verify_bundle(path, v2.trust_root(upto=1), NOW)
    assert result.verified.signers == (dsse.key_id(key("bundle-v2").public_key()),)


def test_bundle_signed_only_by_retired_key_fails(tmp_path: Path) -> None:
    v1 = vendor()
    v2 = rotate_bundle_key(v1, key("bundle-v2"))
    members = read_members(build_bundle(tmp_path, v1))  # signed by the v1 bundle key
    ring = [
        m
        for m in read_members(build_bundle(tmp_path, v2, name="new.tar"))
        if m.name.startswith("keyring/")
    ]
    evil = ring + [m for m in members if not m.name.startswith("keyring/")]
    with pytest.raises(SignatureError, match=r"0 valid signature"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v1.trust_root(), NOW)


def test_orphan_and_missing_blobs_fail_the_oci_check(tmp_path: Path) -> None:
    v = vendor()
    path = build_bundle(tmp_path, v)
    members = read_members(path)
    blobs = [m for m in members if m.name.startswith("images/blobs/")]
    # Drop the layer from the tar and the manifest stays signed: the reader sees a missing file.
    evil = [m for m in members if m is not blobs[-1]]
    with pytest.raises(ArchiveError, match=r"truncated|member order"):
        verify_bundle(write_members(tmp_path / "evil.tar", evil), v.trust_root(), NOW)


def test_stored_objects_reverify_and_content_is_checked(tmp_path: Path) -> None:
    v2 = rotate_bundle_key(vendor(), key("bundle-v2"))
    path = build_bundle(tmp_path, v2)
    members = {m.name: m.data for m in read_members(path)}
    chain = [members[n] for n in sorted(members) if n.startswith("keyring/")]
    verified = verify_stored(chain, members["manifest.dsse.json"], v2.trust_root(), NOW)
    manifest = verified.manifest
    entry = check_content(manifest, "resources/5-first.yaml", members["resources/5-first.yaml"])
    assert entry.size == len(members["resources/5-first.yaml"])
    stream = io.BytesIO(members["crds/widgets.acme.dev.yaml"])
    check_content(manifest, "crds/widgets.acme.dev.yaml", stream)
    with pytest.raises(ArchiveError, match=r"digest check failed"):
        check_content(
            manifest, "resources/5-first.yaml", members["resources/10-widget.yaml"][:61].ljust(61)
        )
    with pytest.raises(ArchiveError, match=r"size check failed"):
        check_content(manifest, "resources/5-first.yaml", b"short")
    with pytest.raises(ExpiredError):
        verify_stored(
            chain, members["manifest.dsse.json"], v2.trust_root(), NOW + timedelta(days=181)
        )
    assert from_payload(verified.manifest.to_payload()) == manifest


def test_build_refuses_unsafe_names_and_bad_yaml(tmp_path: Path) -> None:
    v = vendor()
    src = tmp_path / "src"
    (src / "resources").mkdir(parents=True)
    (src / "resources" / "bad name.yaml").write_text("kind: X\n")
    request = BuildRequest(src, tmp_path / "x.tar", "1.0.0", 1)
    with pytest.raises(BundleError, match=r"characters outside"):
        build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
    (src / "resources" / "bad name.yaml").unlink()
    (src / "resources" / "x.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(BundleError, match=r"not readable YAML"):
        build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
