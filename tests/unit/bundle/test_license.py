"""Licences: signed only by the `license` role, verified from the trust root, ordered by issue.

Aspects: round trip; a bundle key cannot sign a licence; a tampered payload fails; a licence
signed after a key rotation verifies from the unchanged trust root (the file carries the chain);
entitlement parsing; an older licence never replaces a newer one.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bundle.errors import BundleError, LicenseError, SignatureError
from bundle.keyring import from_payload
from bundle.license import License, check_newer, parse_entitlement, sign_license, verify_license
from tests.unit.bundle.factory import NOW, key, rotate_bundle_key, vendor

V = vendor()
KEYRING = from_payload(V.chain[0].payload)


def issue(issued_days_ago: int = 0, **entitlements: object) -> bytes:
    lic = License("Acme", NOW - timedelta(days=issued_days_ago), NOW + timedelta(days=365),
                  timedelta(days=14), dict(entitlements) or {"maxTenants": 2})  # type: ignore[arg-type]  # fmt: skip
    return sign_license(lic, V.chain_bytes, KEYRING, [key("v-license")])


def test_round_trip() -> None:
    found = verify_license(issue(), V.chain_bytes[:1], NOW)
    assert found.license.customer == "Acme"
    assert found.license.limit("maxTenants") == 2
    assert found.license.grace_end == NOW + timedelta(days=379)


def test_only_the_license_role_signs() -> None:
    lic = License("Acme", NOW, NOW + timedelta(days=1))
    with pytest.raises(LicenseError, match="license role check failed"):
        sign_license(lic, V.chain_bytes, KEYRING, V.bundle_keys[:1])


def test_tampered_licence_fails() -> None:
    doc = json.loads(issue())
    payload = json.loads(__import__("base64").b64decode(doc["license"]["payload"]))
    payload["entitlements"]["maxTenants"] = 1000
    raw = json.dumps(payload).encode()
    doc["license"]["payload"] = __import__("base64").b64encode(raw).decode()
    with pytest.raises(SignatureError):
        verify_license(json.dumps(doc).encode(), V.chain_bytes[:1], NOW)


def test_signed_after_rotation_verifies_from_the_old_trust_root() -> None:
    rotated = rotate_bundle_key(V, key("new-bundle"))
    ring = from_payload(rotated.chain[-1].payload)
    lic = License("Acme", NOW, NOW + timedelta(days=1))
    data = sign_license(lic, rotated.chain_bytes, ring, [key("v-license")])
    assert verify_license(data, V.chain_bytes[:1], NOW).keyring_version == 2


def test_entitlements_are_typed() -> None:
    assert parse_entitlement("maxTenants=10") == ("maxTenants", 10)
    assert parse_entitlement("feature.sso=true") == ("feature.sso", True)
    assert parse_entitlement("tier=gold") == ("tier", "gold")
    with pytest.raises(BundleError):
        parse_entitlement("maxTenants")


def test_older_never_replaces_newer() -> None:
    newer = verify_license(issue(0), V.chain_bytes[:1], NOW)
    older = verify_license(issue(5), V.chain_bytes[:1], NOW)
    check_newer(newer, older)
    check_newer(newer, newer)
    with pytest.raises(LicenseError, match="licence rollback check failed"):
        check_newer(older, newer)
