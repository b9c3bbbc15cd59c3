"""Re-verification of what the agent keeps in the cluster, at every reconcile.

Pure: the keyring chain and manifest envelope (as stored in a `Bundle` resource), the trust root
keyring (from the agent's configuration) and `now` in; a `VerifiedManifest` or a
`VerificationError` out. A content file (e.g. a resource's YAML held in a ConfigMap) is checked
against its manifest entry by path, size and sha256 before it is used. No Kubernetes here: the
agent reads the objects and passes the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO

from bundle.errors import ArchiveError
from bundle.keyring import Keyring, decode_chain, load_trust_root, walk
from bundle.manifest import FileEntry, Manifest, VerifiedManifest, verify_manifest

CHUNK = 1024 * 1024

Chain = bytes | Sequence[bytes]


def as_chain(chain: Chain, what: str) -> list[bytes]:
    """A keyring file's bytes (JSON list of envelopes) or already-split envelope bytes."""
    if isinstance(chain, bytes | bytearray):
        return decode_chain(bytes(chain), what)
    return list(chain)


def verify_chain(chain: Chain, trust_root: Chain, now: datetime) -> Keyring:
    """Walk a bundle's keyring chain forward from the trust root; return the final keyring."""
    trusted, payload = load_trust_root(as_chain(trust_root, "trust root"))
    return walk(trusted, as_chain(chain, "keyring chain"), now, payload)


def verify_stored(
    chain: Chain, manifest_envelope: bytes, trust_root: Chain, now: datetime
) -> VerifiedManifest:
    """Walk the stored chain from the trust root, then verify the manifest with the result.

    Args:
        chain: keyring envelopes carried by the bundle (ascending), or a keyring file's bytes.
        manifest_envelope: the `manifest.dsse.json` bytes exactly as carried.
        trust_root: the trust-root keyring file bytes (or its envelopes).
        now: the clock; keyring and manifest expiry are checked against it.
    """
    return verify_manifest(manifest_envelope, verify_chain(chain, trust_root, now), now)


def check_content(manifest: Manifest, path: str, content: bytes | IO[bytes]) -> FileEntry:
    """Check one content file against its signed entry; return the entry when it matches."""
    entry = manifest.file(path)
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(content):
        size += len(chunk)
        if size > entry.size:
            raise ArchiveError(f"size check failed: '{path}' is longer than its {entry.size} bytes")
        digest.update(chunk)
    if size != entry.size:
        raise ArchiveError(
            f"size check failed: '{path}' is {size} bytes, the manifest says {entry.size}"
        )
    if digest.hexdigest() != entry.sha256:
        raise ArchiveError(
            f"digest check failed: '{path}' has sha256 {digest.hexdigest()}, the manifest says"
            f" {entry.sha256}"
        )
    return entry


def _chunks(content: bytes | IO[bytes]) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray):
        return iter([bytes(content)])
    return iter(lambda: content.read(CHUNK), b"")
