"""The bundle package's error family.

BundleError                 anything the bundle code expects and can explain (exit 2)
 └─ VerificationError       the input does not verify (exit 1: scripts tell "bad" from "broken")
     ├─ SignatureError      too few valid signatures, wrong key, wrong payload type
     ├─ KeyringError        keyring chain: version skip, rotation not signed, malformed
     │   └─ TrustRollbackError  the chain ends below the keyring the cluster already trusts
     ├─ ExpiredError        a manifest, keyring or permit is past its expiry
     ├─ RollbackError       sequence lower than the last applied one without a permit (exit 2:
     │                      a policy refusal of a good bundle, an expected error)
     ├─ ManifestError       the signed manifest is malformed or inconsistent
     ├─ ArchiveError        the tar itself: unsafe member, unlisted file, size or digest mismatch
     ├─ DeltaError          a delta bundle without its base, or with another base
     └─ LicenseError        a licence file is malformed, not signed by the `license` role,
                            or older than the licence it would replace

Every message starts with the name of the check that failed, so a user (and a test) can tell
which rule rejected the input.
"""

from __future__ import annotations


class BundleError(Exception):
    """Base of every error of the bundle package."""

    exit_code = 2


class VerificationError(BundleError):
    """A signature, digest, size, expiry, sequence or path check failed."""

    exit_code = 1


class SignatureError(VerificationError):
    """A DSSE envelope lacks a threshold of valid signatures of the required role."""


class KeyringError(VerificationError):
    """A keyring version does not follow from the trusted one."""


class TrustRollbackError(KeyringError):
    """The chain ends below the trust floor, or at its version with another keyring."""


class ExpiredError(VerificationError):
    """A signed document is past its `expires` time."""


class RollbackError(VerificationError):
    """The bundle is older than the one already applied and no signed permit allows it.

    The bundle itself verified: refusing it is policy, an expected error (exit 2), not "bad input".
    """

    exit_code = 2


class ManifestError(VerificationError):
    """The signed manifest is malformed or internally inconsistent."""


class ArchiveError(VerificationError):
    """The tar archive breaks a rule of the strict reader."""


class DeltaError(VerificationError):
    """A delta bundle's base is not the one named, or not where the delta needs it."""


class LicenseError(VerificationError):
    """A licence is malformed, not signed by a threshold of the `license` role, or older than
    the licence already in force."""
