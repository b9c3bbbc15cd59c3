"""The bundle package's error family.

BundleError                 anything the bundle code expects and can explain (exit 2)
 └─ VerificationError       the input does not verify (exit 1: scripts tell "bad" from "broken")
"""

from __future__ import annotations


class BundleError(Exception):
    """Base of every error of the bundle package."""

    exit_code = 2


class VerificationError(BundleError):
    """A signature, digest, size, expiry, sequence or path check failed."""

    exit_code = 1
