"""The wire protocol's error family.

    WireError                   anything the protocol expects and can explain (exit 2)
     ├─ ProtocolError           a document breaks the protocol (schema, fields, signature)
     ├─ SupportBundleError      a support bundle archive is unreadable, tampered or unsigned
     └─ KeyFormatError          a private key file is not an unencrypted Ed25519 PKCS8 PEM

Messages never carry tokens or key material.
"""

from __future__ import annotations


class WireError(Exception):
    """Base of every error of the wire protocol."""

    exit_code = 2


class ProtocolError(WireError):
    """A report, enrollment or acknowledgement is malformed or fails verification."""


class KeyFormatError(WireError):
    """A private key cannot be used: not PEM, encrypted, or not Ed25519."""


class SupportBundleError(WireError):
    """A support bundle archive does not verify: unreadable, tampered, or signed by another key."""
