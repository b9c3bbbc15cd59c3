"""Verify a bundle file: the I/O shell around the pure checks.

I/O: opens the bundle, streams it once through `ArchiveReader`, optionally into a fresh staging
directory. Order: read keyring chain and manifest (bounded) → walk the chain from the trust root
and verify the manifest (pure, `stored.verify_stored`) → stream every content file checking size,
sha256 and the OCI graph → check the end of the archive. A `Verified` result exists only when all
of it passed; on any failure the staging directory is removed, so nothing half-checked is usable.
`inspect` reads only the head and trusts nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from bundle import dsse
from bundle.archive import ArchiveReader, Head
from bundle.chartscan import find_helm, scan_charts
from bundle.errors import ArchiveError, BundleError
from bundle.keyring import Keyring
from bundle.manifest import Manifest, VerifiedManifest, from_payload, verify_manifest
from bundle.ocigraph import OciGraph
from bundle.staging import Staging
from bundle.stored import Chain, verify_chain
from bundle.trustfloor import Floor, check_floor


@dataclass(frozen=True)
class Verified:
    """A bundle that passed every check; `staging` holds its content when one was asked for."""

    path: Path
    verified: VerifiedManifest
    keyring: Keyring  # the final keyring of the chain, as verified
    chain: tuple[bytes, ...]
    manifest_envelope: bytes
    staging: Path | None

    @property
    def manifest(self) -> Manifest:
        """The verified manifest."""
        return self.verified.manifest


def verify_bundle(
    path: Path,
    trust_root: Chain,
    now: datetime,
    *,
    staging: Path | None = None,
    progress: Callable[[int], None] | None = None,
    admit: Callable[[VerifiedManifest, Keyring], None] | None = None,
    floor: Floor | None = None,
) -> Verified:
    """Verify `path` against the trust-root keyring file bytes; extract into `staging` if given.

    `floor` is the newest keyring already trusted: a chain ending below it is refused.

    `admit` (e.g. the anti-rollback decision) runs once the manifest is verified and before any
    content is read or staged; it refuses by raising.
    """
    with _open(path) as f:
        reader = ArchiveReader(f, progress)
        head = reader.read_head()
        keyring = verify_chain(list(head.chain), trust_root, now)
        check_floor(keyring, floor)
        checked = verify_manifest(head.manifest, keyring, now)
        _check_total(checked.manifest, _size(f))
        if admit is not None:
            admit(checked, keyring)
        target = Staging.create(staging) if staging is not None else None
        try:
            reader.read_content(
                checked.manifest,
                target,
                OciGraph(checked.manifest.images, checked.manifest.referrers),
            )
            reader.finish()
        except BaseException:
            if target is not None:
                target.remove()
            raise
    return Verified(path, checked, keyring, head.chain, head.manifest, staging)


def _check_total(manifest: Manifest, size: int) -> None:
    # Cheap early refusal of a manifest that promises more content than the file can hold.
    if manifest.total_bytes > size:
        raise ArchiveError(
            f"size check failed: the manifest lists {manifest.total_bytes} bytes of content but"
            f" the file has only {size}"
        )


def read_head(path: Path) -> Head:
    """The keyring chain and manifest envelope of a bundle, unverified."""
    with _open(path) as f:
        return ArchiveReader(f).read_head()


def inspect(path: Path) -> dict[str, Any]:
    """What a bundle says about itself. Nothing here is verified; `verify` is the check.

    `chart_scan` renders each chart (`bundle.chartscan`) to show what it would create.
    """
    head = read_head(path)
    envelope = dsse.parse(head.manifest, "manifest")
    manifest = from_payload(envelope.payload)
    return {
        "verified": False,
        "path": str(path),
        "product": manifest.product,
        "channel": manifest.channel,
        "version": manifest.version,
        "sequence": manifest.sequence,
        "created": manifest.to_dict()["created"],
        "expires": manifest.to_dict()["expires"],
        "files": len(manifest.files),
        "size": path.stat().st_size,
        "content_bytes": manifest.total_bytes,
        "keyring_versions": _versions(head),
        "signers": [s.keyid for s in envelope.signatures],
        "crds": list(manifest.crds),
        "charts": [{"name": c.name, "version": c.version, "path": c.path} for c in manifest.charts],
        "resources": [{"path": r.path, "order": r.order} for r in manifest.resources],
        "images": manifest.to_dict()["images"],
        "base": manifest.base.to_dict() if manifest.base else None,
        "referrers": [r.to_dict() for r in manifest.referrers],
        "files_from_base": len(manifest.from_base),
        "chart_scan": scan_charts(path, manifest, find_helm()),
    }


def _versions(head: Head) -> list[int]:
    out = []
    for data in head.chain:
        try:
            out.append(int(json.loads(dsse.parse(data).payload)["version"]))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ArchiveError(f"keyring format check failed: {exc}") from exc
    return out


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise BundleError(f"cannot open bundle '{path}': {exc.strerror}") from exc


def _size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size
