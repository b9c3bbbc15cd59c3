"""Keyrings: DSSE basics, trust roots, rotation, version rules, expiry, key ids.

Aspects: PAE layout; base64 variants; one key counted once; rotation across versions works
offline; a rotation lacking the old or the new root threshold fails; a version skip fails; the
same version with different bytes fails; only the final keyring's expiry counts.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from bundle import dsse
from bundle.errors import BundleError, ExpiredError, KeyringError, SignatureError
from bundle.keyring import from_payload, load_trust_root, trust_first, walk
from bundle.rotation import RoleSpec, next_keyring, sign_rotation
from tests.unit.bundle.factory import NOW, YEAR, key, rotate_bundle_key, vendor


def test_pae_matches_the_dsse_specification() -> None:
    got = dsse.pae("http://example.com/HelloWorld", b"hello world")
    assert got == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_url_safe_unpadded_base64_is_accepted() -> None:
    signer = key("x")
    envelope = dsse.sign("t", b"\xfb\xff payload", [signer])
    doc = envelope.to_dict()
    doc["payload"] = base64.urlsafe_b64encode(envelope.payload).decode().rstrip("=")
    parsed = dsse.parse(json.dumps(doc).encode())
    trusted = {dsse.key_id(signer.public_key()): signer.public_key()}
    assert dsse.verify(parsed, "t", trusted, 1)[0] == envelope.payload


def test_one_key_signing_twice_counts_once() -> None:
    signer = key("x")
    one = dsse.sign("t", b"p", [signer])
    doubled = dsse.Envelope("t", b"p", one.signatures * 2)
    trusted = {dsse.key_id(signer.public_key()): signer.public_key()}
    with pytest.raises(SignatureError, match=r"1 valid signature"):
        dsse.verify(doubled, "t", trusted, 2)


def test_wrong_payload_type_is_rejected() -> None:
    signer = key("x")
    envelope = dsse.sign(dsse.PAYLOAD_DOWNGRADE, b"{}", [signer])
    trusted = {dsse.key_id(signer.public_key()): signer.public_key()}
    with pytest.raises(SignatureError, match=r"payload type check failed"):
        dsse.verify(envelope, dsse.PAYLOAD_MANIFEST, trusted, 1)


def test_trust_root_must_meet_its_own_root_threshold() -> None:
    v = vendor()
    lone = dsse.sign(dsse.PAYLOAD_KEYRING, v.chain[0].payload, v.roots[:1])
    with pytest.raises(SignatureError, match=r"1 valid signature.*2 required"):
        trust_first(lone.to_json())


def test_key_id_is_recomputed_not_trusted() -> None:
    v = vendor()
    doc = json.loads(v.chain[0].payload)
    _kid, entry = next(iter(doc["keys"].items()))
    doc["keys"]["0" * 64] = entry
    with pytest.raises(KeyringError, match=r"not the sha256 of its public key"):
        from_payload(json.dumps(doc).encode())


def test_rotation_across_two_versions_works_offline() -> None:
    v = rotate_bundle_key(rotate_bundle_key(vendor(), key("b2")), key("b3"))
    trusted, payload = load_trust_root(v.chain_bytes[:1])
    final = walk(trusted, v.chain_bytes, NOW, payload)
    assert final.version == 3
    assert list(final.role("bundle").keyids) == [dsse.key_id(key("b3").public_key())]


def test_rotation_not_signed_by_old_root_threshold_fails() -> None:
    v = vendor()
    old = from_payload(v.chain[0].payload)
    new_roots = [key(f"new-root-{i}") for i in range(3)]
    spec = RoleSpec(tuple(k.public_key() for k in new_roots), 2)
    new = next_keyring(old, NOW + YEAR, {"root": spec})
    with pytest.raises(BundleError, match=r"by the root keys of v1"):
        sign_rotation(old, new, [v.roots[0], *new_roots[:2]])
    forged = dsse.sign(dsse.PAYLOAD_KEYRING, new.to_payload(), [v.roots[0], *new_roots])
    with pytest.raises(SignatureError, match=r"1 valid signature"):
        walk(old, [v.chain_bytes[0], forged.to_json()], NOW, v.chain[0].payload)


def test_rotation_not_signed_by_new_root_threshold_fails() -> None:
    v = vendor()
    old = from_payload(v.chain[0].payload)
    new_roots = [key(f"new-root-{i}") for i in range(3)]
    new = next_keyring(
        old, NOW + YEAR, {"root": RoleSpec(tuple(k.public_key() for k in new_roots), 2)}
    )
    with pytest.raises(BundleError, match=r"by its own root keys"):
        sign_rotation(old, new, [*v.roots[:2], new_roots[0]])


def test_version_skip_fails() -> None:
    v = vendor()
    old = from_payload(v.chain[0].payload)
    skipped = next_keyring(next_keyring(old, NOW + YEAR, {}), NOW + YEAR, {})
    envelope = dsse.sign(dsse.PAYLOAD_KEYRING, skipped.to_payload(), v.roots[:2])
    with pytest.raises(KeyringError, match=r"after v1 comes v2, got v3"):
        walk(old, [envelope.to_json()], NOW)


def test_same_version_with_different_bytes_fails() -> None:
    v = vendor()
    old = from_payload(v.chain[0].payload)
    other = next_keyring(old, NOW + 2 * YEAR, {})
    twin = dsse.sign(
        dsse.PAYLOAD_KEYRING,
        other.to_payload().replace(b'"version": 2', b'"version": 1'),
        v.roots[:2],
    )
    with pytest.raises(KeyringError, match=r"differs from the trusted keyring v1"):
        walk(old, [twin.to_json()], NOW, v.chain[0].payload)


def test_final_keyring_expiry_is_checked() -> None:
    v = vendor()
    trusted, payload = load_trust_root(v.chain_bytes)
    with pytest.raises(ExpiredError, match=r"keyring v1 expired"):
        walk(trusted, v.chain_bytes, NOW + YEAR + timedelta(seconds=1), payload)


def test_intermediate_expiry_is_ignored() -> None:
    v = vendor()
    old = from_payload(v.chain[0].payload)
    new = next_keyring(old, NOW + 3 * YEAR, {})
    chain = [*v.chain_bytes, sign_rotation(old, new, v.roots[:2]).to_json()]
    trusted, payload = load_trust_root(chain[:1])
    assert walk(trusted, chain, NOW + 2 * YEAR, payload).version == 2


def test_tampered_keyring_payload_fails() -> None:
    v = vendor()
    doc = v.chain[0].to_dict()
    payload = v.chain[0].payload.replace(b'"threshold": 1', b'"threshold": 2', 1)
    doc["payload"] = base64.b64encode(payload).decode()
    with pytest.raises(SignatureError):
        trust_first(json.dumps(doc).encode())
