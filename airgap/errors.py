"""The air-gap importer's error family.

AirgapError                     anything the importer expects and can explain (exit 2)
 ├─ LayoutError                 the OCI image layout is malformed or a blob does not match its
 │                              descriptor (exit 1: the input is bad, nothing was sent)
 ├─ BaseMissingError            a delta's base blobs are not in the registry (exit 1)
 ├─ PushCancelledError          interrupted (SIGINT/SIGTERM or a hook); rerun to resume (130)
 │   └─ UploadStoppedError      an upload stopped because a sibling upload failed
 └─ RegistryError               the registry refused or failed a request
     ├─ RegistryUnreachableError    connection refused, DNS, TLS or timeout
     ├─ RegistryAuthError           401/403: wrong or missing credentials or permissions
     └─ RepositoryMissingError      the registry does not create repositories on push

A registry address or its options that cannot be used raise `refs.errors.AddressError`.
Messages say what failed, on which registry (never with credentials) and what to do.
"""

from __future__ import annotations


class AirgapError(Exception):
    """Base of every error of the air-gap importer."""

    exit_code = 2


class LayoutError(AirgapError):
    """The OCI image layout is malformed, or a blob's bytes do not match its descriptor."""

    exit_code = 1


class BaseMissingError(AirgapError):
    """A delta leaves blobs to its base that the target registry does not hold."""

    exit_code = 1


class PushCancelledError(AirgapError):
    """The push was interrupted; uploads in flight are journaled for resume."""

    exit_code = 130


class UploadStoppedError(PushCancelledError):
    """An upload stopped at a chunk boundary because another upload of the push failed."""


class RegistryError(AirgapError):
    """The registry refused or failed a request."""

    def __init__(self, message: str, status_code: int | None = None, *, transient: bool = False):
        super().__init__(message)
        self.status_code = status_code
        # True when retrying later can help (5xx gateway errors, broken connections).
        self.transient = transient


class RegistryUnreachableError(RegistryError):
    """No HTTP answer: connection refused, name resolution, TLS handshake or timeout."""


class RegistryAuthError(RegistryError):
    """The registry rejected the credentials (401) or the permissions (403)."""


class RepositoryMissingError(RegistryError):
    """The registry refuses to create repositories on push; they must be created first."""
