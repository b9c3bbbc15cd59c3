"""The trust floor: a retired bundle key cannot sign again by carrying only the older chain.

Aspects: the pure floor rules (below, same version other digest, raising); `verify_bundle` with
a floor; `bundle verify --min-keyring-version` (exit 1 naming the check, the keyring printed in
the form the flag takes); a downgrade permit signed by the retired key is refused too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundle.errors import BundleError, TrustRollbackError
from bundle.keyring import encode_chain, from_payload
from bundle.rollback import Applied, DowngradePermit, sign_permit
from bundle.rotation import RoleSpec, next_keyring, sign_rotation
from bundle.trustfloor import (
    Floor,
    applied_from_data,
    check_floor,
    floor_from_data,
    floor_to_data,
    parse_floor,
    raised,
    to_remember,
)
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, YEAR, Vendor, build_bundle, key, rotate_bundle_key
from tests.unit.bundle.test_cli import run


@pytest.fixture
def acme() -> Vendor:
    from tests.unit.bundle.factory import vendor

    return vendor()


def retired_key_bundle(tmp_path: Path, acme: Vendor) -> Path:
    """What the red team built: signed by v1's bundle key, carrying only the v1 chain."""
    return build_bundle(tmp_path, acme, images=False, name="old.tar")


def test_chain_ending_below_the_floor_is_refused(tmp_path: Path, acme: Vendor) -> None:
    v2 = rotate_bundle_key(acme, key("new-bundle"))
    path = retired_key_bundle(tmp_path, acme)
    trust = acme.trust_root()
    # The flaw: from the fixed trust root, the retired key's bundle still verifies.
    assert verify_bundle(path, trust, NOW).keyring.version == 1
    floor = Floor(2, from_payload(v2.chain[1].payload).digest)
    with pytest.raises(TrustRollbackError, match=r"trust rollback check failed: .* ends at v1"):
        verify_bundle(path, trust, NOW, floor=floor)


def test_same_version_with_another_keyring_is_refused(tmp_path: Path, acme: Vendor) -> None:
    path = retired_key_bundle(tmp_path, acme)
    with pytest.raises(TrustRollbackError, match="two keyrings with one version"):
        verify_bundle(path, acme.trust_root(), NOW, floor=Floor(1, "ab" * 32))
    same = from_payload(acme.chain[0].payload).digest
    assert verify_bundle(path, acme.trust_root(), NOW, floor=Floor(1, same)).keyring.digest == same


def test_newer_chain_passes_and_raises_the_floor(acme: Vendor) -> None:
    v2 = rotate_bundle_key(acme, key("new-bundle"))
    k1, k2 = (from_payload(e.payload) for e in v2.chain)
    check_floor(k2, Floor(1, k1.digest))
    assert raised(Floor(1, k1.digest), k2) == Floor(2, k2.digest)
    assert raised(Floor(2, k2.digest), k1) is None
    assert raised(Floor(2, k2.digest), k2) is None
    assert raised(Floor(2), k2) == Floor(2, k2.digest)  # a floor without digest learns it
    assert raised(None, k1) == Floor(1, k1.digest)


def test_floor_text_and_data_round_trip() -> None:
    digest = "0f" * 32
    assert parse_floor(f"3:sha256:{digest}") == Floor(3, digest)
    assert parse_floor("3") == Floor(3)
    assert str(Floor(3, digest)) == f"3:sha256:{digest}"
    assert floor_from_data(floor_to_data(Floor(3, digest))) == Floor(3, digest)
    assert floor_from_data({}) is None
    for bad in ("0", "-1", "3:sha256:xyz", "3:md5:" + digest, "99999999999"):
        with pytest.raises(BundleError):
            parse_floor(bad)
    with pytest.raises(TrustRollbackError):
        floor_from_data({"keyringVersion": "two"})


@pytest.fixture
def rotated(tmp_path: Path, acme: Vendor) -> tuple[Path, Path, Vendor]:
    """A bundle signed by the retired key (v1 chain), the trust root, and the vendor at v2."""
    v2 = rotate_bundle_key(acme, key("new-bundle"))
    trust = tmp_path / "trust.json"
    trust.write_bytes(acme.trust_root())
    return retired_key_bundle(tmp_path, acme), trust, v2


def test_verify_flag_refuses_the_retired_key(rotated: tuple[Path, Path, Vendor]) -> None:
    path, trust, v2 = rotated
    verify = ("bundle", "verify", path, "--trust", trust, "--output", "json")
    plain = run(*verify)
    assert plain.exit_code == 0, plain.output
    digest1 = from_payload(v2.chain[0].payload).digest
    assert json.loads(plain.stdout)["keyring"] == f"1:sha256:{digest1}"
    assert run(*verify, "--min-keyring-version", f"1:sha256:{digest1}").exit_code == 0
    refused = run(*verify, "--min-keyring-version", "2")
    assert refused.exit_code == 1
    doc = json.loads(refused.stdout)
    assert doc["check"] == "TrustRollbackError"
    assert "already trusts keyring v2" in doc["error"]
    usage = run(*verify, "--min-keyring-version", "2:sha1:x")
    assert isinstance(usage.exception, BundleError)
    assert usage.exception.exit_code == 2


def test_retired_key_permit_no_longer_works(rotated: tuple[Path, Path, Vendor]) -> None:
    path, trust, v2 = rotated
    old = from_payload(v2.chain[0].payload)
    permit = DowngradePermit("acme-platform", "stable", 7, "2.14.0", NOW + YEAR)
    permit_file = path.with_name("permit.json")
    permit_file.write_bytes(sign_permit(permit, [key("v-bundle-0")]).to_json())
    verify = ("bundle", "verify", path, "--trust", trust, "--output", "json")
    downgrade = (*verify, "--last-sequence", "9", "--permit", permit_file)
    # The flaw: without the floor, the retired key's permit allows the downgrade.
    assert json.loads(run(*downgrade).stdout).get("decision") == "downgrade"
    refused = run(*downgrade, "--min-keyring-version", "2")
    assert refused.exit_code == 1
    assert "trust rollback check failed" in json.loads(refused.stdout)["error"]
    assert old.version == 1


def test_rotation_keeps_digests_distinct(acme: Vendor) -> None:
    """Two different v2 keyrings (a compromised root) have different digests."""
    old = from_payload(acme.chain[0].payload)
    a = next_keyring(old, NOW + YEAR, {"bundle": RoleSpec((key("a").public_key(),))})
    b = next_keyring(old, NOW + YEAR, {"bundle": RoleSpec((key("b").public_key(),))})
    ea, eb = (sign_rotation(old, k, acme.roots[:2]) for k in (a, b))
    da, db = (from_payload(e.payload).digest for e in (ea, eb))
    assert da != db
    assert encode_chain([ea]) != encode_chain([eb])


def test_the_agent_only_raises_a_remembered_sequence() -> None:
    five = Applied(5, "sha256:" + "5" * 64)
    data = to_remember({}, "shop", "stable", five)
    assert data is not None
    assert to_remember(data, "shop", "stable", five) is None
    # A permitted downgrade keeps the higher sequence: the admission policy allows no lower one.
    assert to_remember(data, "shop", "stable", Applied(3, "sha256:" + "3" * 64)) is None
    six = Applied(6, "sha256:" + "6" * 64)
    assert applied_from_data(to_remember(data, "shop", "stable", six), "shop", "stable") == six
    assert to_remember(data, "shop", "beta", Applied(1, "sha256:" + "1" * 64)) is not None
