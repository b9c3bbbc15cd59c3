"""Anti-rollback decisions and signed downgrade permits.

Aspects: first install; upgrade; idempotent re-apply only with identical manifest bytes; lower
sequence refused without a permit; a permit for another target refused; a valid permit allows
exactly its target; permits are signed by the bundle role and expire.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bundle.errors import ExpiredError, RollbackError, SignatureError
from bundle.keyring import from_payload
from bundle.manifest import sign_manifest, verify_manifest
from bundle.rollback import Applied, Decision, DowngradePermit, decide, sign_permit, verify_permit
from tests.unit.bundle.factory import NOW, YEAR, vendor
from tests.unit.bundle.tarcraft import manifest_for

V = vendor()
KEYRING = from_payload(V.chain[0].payload)


def verified(sequence: int, body: bytes = b"kind: A\n"):  # type: ignore[no-untyped-def]
    manifest = manifest_for({"crds/a.yaml": body}, sequence=sequence)
    envelope = sign_manifest(manifest, V.bundle_keys[:1]).to_json()
    return verify_manifest(envelope, KEYRING, NOW)


def permit(sequence: int, version: str = "1.0.0", channel: str = "stable") -> DowngradePermit:
    return DowngradePermit("acme", channel, sequence, version, NOW + YEAR)


def test_first_install_and_upgrade_are_allowed() -> None:
    assert decide(verified(5), None) is Decision.INSTALL
    assert decide(verified(6), Applied(5, "x")) is Decision.UPGRADE


def test_same_sequence_same_manifest_is_a_reapply() -> None:
    candidate = verified(5)
    assert decide(candidate, Applied(5, candidate.digest)) is Decision.REAPPLY


def test_same_sequence_different_manifest_is_refused() -> None:
    first, other = verified(5), verified(5, b"kind: B\n")
    with pytest.raises(RollbackError, match=r"already applied with a different manifest"):
        decide(other, Applied(5, first.digest))


def test_lower_sequence_without_permit_is_refused() -> None:
    with pytest.raises(RollbackError, match=r"rollback check failed: sequence 4 is lower than"):
        decide(verified(4), Applied(5, "x"))


@pytest.mark.parametrize(
    "other",
    [permit(3), permit(4, version="0.9.0"), permit(4, channel="beta")],
)
def test_permit_for_another_target_is_refused(other: DowngradePermit) -> None:
    with pytest.raises(RollbackError, match=r"the downgrade permit names"):
        decide(verified(4), Applied(5, "x"), other)


def test_signed_permit_for_this_target_allows_the_downgrade() -> None:
    envelope = sign_permit(permit(4), V.bundle_keys[:1]).to_json()
    checked = verify_permit(envelope, KEYRING, NOW)
    assert decide(verified(4), Applied(5, "x"), checked) is Decision.DOWNGRADE


def test_permit_signed_by_a_non_bundle_key_is_refused() -> None:
    envelope = sign_permit(permit(4), V.roots[:1]).to_json()
    with pytest.raises(SignatureError, match=r"downgrade permit has 0 valid signature"):
        verify_permit(envelope, KEYRING, NOW)


def test_expired_permit_is_refused() -> None:
    envelope = sign_permit(permit(4), V.bundle_keys[:1]).to_json()
    with pytest.raises(ExpiredError, match=r"downgrade permit expired"):
        verify_permit(envelope, KEYRING, NOW + YEAR + timedelta(seconds=1))


def test_manifest_signature_is_not_a_permit() -> None:
    manifest_envelope = sign_manifest(manifest_for({"crds/a.yaml": b"x"}), V.bundle_keys[:1])
    with pytest.raises(SignatureError, match=r"payload type check failed"):
        verify_permit(manifest_envelope.to_json(), KEYRING, NOW)
