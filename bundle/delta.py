"""Delta bundles: a release that carries only what its verified base lacks (pure rules).

A delta's signed manifest names its base by the digest of the base's signed manifest and still
lists every file of the complete release, with its size and sha256; the files the base already
has are marked `inBase` and left out of the tar. Image manifests and indexes are always carried
(a few KiB), so the whole OCI graph of the release is checked offline and tags can be pushed;
layers, configs and content files identical to the base are left out.

Pure: manifests and `Bundle` objects (plain dicts) in; marked entries, a coverage summary or a
`DeltaError` naming what is missing out. The I/O (reading the base, HEAD requests) is elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bundle.errors import DeltaError
from bundle.manifest import BaseRef, FileEntry, Manifest, VerifiedManifest
from bundle.ocigraph import BLOBS

VERIFIED = "Verified"
SHOWN = 5


def base_ref(base: VerifiedManifest) -> BaseRef:
    """How a delta names `base`."""
    return BaseRef(base.digest, base.manifest.sequence, base.manifest.version)


def mark_in_base(
    entries: Iterable[FileEntry], base: Manifest, keep: frozenset[str]
) -> tuple[FileEntry, ...]:
    """Mark each entry the base holds byte for byte (same path and sha256), except `keep`.

    `keep` names the paths that are always carried (the OCI layout's JSON documents).
    """
    held = {(f.path, f.sha256) for f in base.files}
    return tuple(
        FileEntry(e.path, e.size, e.sha256, (e.path, e.sha256) in held and e.path not in keep)
        for e in entries
    )


def check_base_match(delta: Manifest, base: VerifiedManifest) -> None:
    """`base` is the delta's base, and holds every file the delta leaves to it, identically."""
    if delta.base is None:
        raise DeltaError("delta check failed: this bundle is not a delta (it names no base)")
    if (base.manifest.product, base.manifest.channel) != (delta.product, delta.channel):
        raise DeltaError(
            f"delta check failed: the base is {base.manifest.product}/{base.manifest.channel},"
            f" the delta {delta.product}/{delta.channel}"
        )
    if base.digest != delta.base.digest:
        raise DeltaError(
            f"delta check failed: the delta was built on manifest sha256:{delta.base.digest}"
            f" (sequence {delta.base.sequence}), this base is sha256:{base.digest}"
            f" (sequence {base.manifest.sequence})"
        )
    held = set(base.manifest.files)
    lacking = [f.path for f in delta.from_base if FileEntry(f.path, f.size, f.sha256) not in held]
    if lacking:
        raise DeltaError(f"delta check failed: the base lacks {_some(lacking)}")


@dataclass(frozen=True)
class Coverage:
    """What verifying a delta on its own checks, and what it leaves to the base."""

    carried_files: int
    carried_bytes: int
    base_files: int
    base_bytes: int
    base: BaseRef

    def to_dict(self) -> dict[str, Any]:
        """What a delta's verification checked and what it left to its base, as JSON."""
        return {
            "base": self.base.to_dict(),
            "checked": {"files": self.carried_files, "bytes": self.carried_bytes},
            "notChecked": {"files": self.base_files, "bytes": self.base_bytes},
        }

    def text(self) -> str:
        """What a delta's verification checked and what it left to its base, for people."""
        b = self.base
        return (
            f"delta of base sequence {b.sequence} (version {b.version}, manifest"
            f" sha256:{b.digest}).\nchecked: signatures, keyring chain, expiry, the"
            f" {self.carried_files} carried files ({self.carried_bytes} bytes) and the OCI graph"
            f" of every image.\nNOT checked: the bytes of {self.base_files} files"
            f" ({self.base_bytes} bytes) left to the base; verify with --base BASE.tar, or"
            " import: `airgap import` checks them against the cluster and the registry"
        )


def coverage(manifest: Manifest) -> Coverage | None:
    """The coverage of a verified delta, or None for a full bundle."""
    if manifest.base is None:
        return None
    left = manifest.from_base
    return Coverage(
        len(manifest.carried),
        manifest.total_bytes,
        len(left),
        sum(f.size for f in left),
        manifest.base,
    )


def base_blob_digests(manifest: Manifest) -> frozenset[str]:
    """`sha256:…` digests of the image blobs a delta leaves to its base."""
    return frozenset(
        "sha256:" + f.path.removeprefix(BLOBS)
        for f in manifest.from_base
        if f.path.startswith(BLOBS)
    )


def check_base_imported(manifest: Manifest, bundles: Iterable[Mapping[str, Any]]) -> None:
    """The cluster's Bundle records hold the delta's base, verified by the agent."""
    if manifest.base is None:
        return
    want = f"sha256:{manifest.base.digest}"
    mine = [b for b in bundles if (b.get("spec") or {}).get("manifestDigest") == want]
    if not mine:
        raise DeltaError(
            f"delta check failed: its base, {manifest.product} sequence {manifest.base.sequence}"
            f" (version {manifest.base.version}, manifest {want}), is not imported in this"
            " cluster; import the base bundle first"
        )
    if not any(_verified(b) for b in mine):
        name = (mine[0].get("metadata") or {}).get("name", "?")
        raise DeltaError(
            f"delta check failed: its base, Bundle '{name}', is not verified by the agent yet"
            " (condition Verified is not True); wait for the agent, then rerun"
        )


def check_base_content(manifest: Manifest, stored: set[str], name_of: Callable[[str], str]) -> None:
    """The content files a delta leaves to its base are stored in the cluster (by digest)."""
    missing = [f.path for f in manifest.from_base if _agent_reads(manifest, f.path)]
    missing = [p for p in missing if name_of(manifest.file(p).sha256) not in stored]
    if missing:
        raise DeltaError(
            f"delta check failed: content of the base is no longer stored in the cluster:"
            f" {_some(missing)}; import the full bundle instead"
        )


def _agent_reads(manifest: Manifest, path: str) -> bool:
    return (
        path in manifest.crds
        or any(c.path == path for c in manifest.charts)
        or any(r.path == path for r in manifest.resources)
    )


def _verified(bundle: Mapping[str, Any]) -> bool:
    conditions = (bundle.get("status") or {}).get("conditions") or []
    return any(c.get("type") == VERIFIED and c.get("status") == "True" for c in conditions)


def _some(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more
