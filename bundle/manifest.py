"""The signed bundle manifest: what a bundle contains, and its verification.

Pure: manifest envelope bytes, a verified keyring and `now` in; a `VerifiedManifest` or a
specific `VerificationError` out. The manifest lists every content file (path, size, sha256) so
the reader knows all sizes before it reads a byte, plus the CRDs, charts, resources (CR specs)
and images (source reference, digest, media type, platforms) the bundle carries.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundle import dsse
from bundle.errors import ExpiredError, ManifestError
from bundle.keyring import Keyring
from bundle.paths import parent_dirs, path_problem
from bundle.timestamps import format_time, parse_time

SCHEMA = "outpost.dev/bundle-manifest/v1"
CONTENT_TOPS = ("crds", "charts", "resources", "preflight", "images", "attestations", "sbom")
MAX_FILES = 100_000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    in_base: bool = False  # a delta does not carry this file: its base bundle does


@dataclass(frozen=True)
class BaseRef:
    """The bundle a delta builds on, named by its signed manifest's digest."""

    digest: str  # sha256 hex of the base's signed manifest payload
    sequence: int
    version: str

    def to_dict(self) -> dict[str, Any]:
        """The base as the manifest records it."""
        return {"manifestDigest": f"sha256:{self.digest}", "sequence": self.sequence,
                "version": self.version}  # fmt: skip


@dataclass(frozen=True)
class ImageEntry:
    source: str
    digest: str
    media_type: str
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class ReferrerEntry:
    """An OCI 1.1 referrer (signature, SBOM, attestation) carried with its subject manifest."""

    digest: str
    media_type: str
    artifact_type: str
    subject: str  # digest of the manifest it refers to

    def to_dict(self) -> dict[str, Any]:
        """The referrer as the manifest records it."""
        return {"digest": self.digest, "mediaType": self.media_type,
                "artifactType": self.artifact_type, "subject": self.subject}  # fmt: skip


@dataclass(frozen=True)
class ChartEntry:
    path: str
    name: str
    version: str


@dataclass(frozen=True)
class ResourceEntry:
    path: str
    order: int


@dataclass(frozen=True)
class Manifest:
    product: str
    channel: str
    version: str
    sequence: int
    created: datetime
    expires: datetime
    files: tuple[FileEntry, ...]
    images: tuple[ImageEntry, ...] = ()
    crds: tuple[str, ...] = ()
    charts: tuple[ChartEntry, ...] = ()
    resources: tuple[ResourceEntry, ...] = ()
    base: BaseRef | None = None
    referrers: tuple[ReferrerEntry, ...] = ()
    preflight: tuple[str, ...] = ()
    """`preflight/*.yaml`: Preflight objects whose checks run before anything is applied."""

    @property
    def total_bytes(self) -> int:
        """Bytes of content the bundle file itself carries (a delta leaves out its base's)."""
        return sum(f.size for f in self.carried)

    @property
    def carried(self) -> tuple[FileEntry, ...]:
        """The files in the bundle tar, in order; a full bundle carries every listed file."""
        return tuple(f for f in self.files if not f.in_base)

    @property
    def from_base(self) -> tuple[FileEntry, ...]:
        """The files of the complete release that a delta leaves to its base."""
        return tuple(f for f in self.files if f.in_base)

    def file(self, path: str) -> FileEntry:
        """The entry for `path`; ManifestError when the manifest does not list it."""
        for entry in self.files:
            if entry.path == path:
                return entry
        raise ManifestError(f"manifest check failed: '{path}' is not listed in the manifest")

    def to_dict(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict."""
        doc = self._core_dict()
        if self.base is not None:
            doc["base"] = self.base.to_dict()
        if self.referrers:
            doc["referrers"] = [r.to_dict() for r in self.referrers]
        if self.preflight:  # only when present: manifests without checks keep their bytes
            doc["preflight"] = [{"path": p} for p in self.preflight]
        return doc

    def _core_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "product": self.product,
            "channel": self.channel,
            "version": self.version,
            "sequence": self.sequence,
            "created": format_time(self.created),
            "expires": format_time(self.expires),
            "limits": {"total_bytes": self.total_bytes, "file_count": len(self.files)},
            "files": [_file_dict(f) for f in self.files],
            "images": [_image_dict(i) for i in self.images],
            "crds": [{"path": p} for p in self.crds],
            "charts": [{"path": c.path, "name": c.name, "version": c.version} for c in self.charts],
            "resources": [{"path": r.path, "order": r.order} for r in self.resources],
        }

    def to_payload(self) -> bytes:
        """The manifest as the JSON payload that bundle keys sign."""
        return json.dumps(self.to_dict(), indent=1).encode() + b"\n"


def _file_dict(entry: FileEntry) -> dict[str, Any]:
    doc: dict[str, Any] = {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
    if entry.in_base:
        doc["inBase"] = True
    return doc


def _image_dict(image: ImageEntry) -> dict[str, Any]:
    return {
        "source": image.source,
        "digest": image.digest,
        "mediaType": image.media_type,
        "platforms": list(image.platforms),
    }


@dataclass(frozen=True)
class VerifiedManifest:
    """A manifest whose signature, expiry and consistency checked out."""

    manifest: Manifest
    digest: str  # sha256 hex of the signed payload bytes: the identity of this manifest
    signers: tuple[str, ...]


def from_payload(payload: bytes) -> Manifest:
    """Parse and check a manifest payload (the signature is checked by `verify_manifest`)."""
    try:
        doc = json.loads(payload)
        if doc.get("schema") != SCHEMA:
            raise ValueError(f"`schema` must be '{SCHEMA}'")
        manifest = _build(doc)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ManifestError(f"manifest format check failed: {exc}") from exc
    check_consistency(manifest)
    return manifest


def _build(doc: dict[str, Any]) -> Manifest:
    return Manifest(
        product=_text(doc["product"], "product"),
        channel=_text(doc["channel"], "channel"),
        version=_text(doc["version"], "version"),
        sequence=_count(doc["sequence"], "sequence"),
        created=parse_time(doc["created"], "created"),
        expires=parse_time(doc["expires"], "expires"),
        files=tuple(_file(f) for f in doc["files"]),
        images=tuple(
            ImageEntry(
                _text(i["source"], "source"),
                _text(i["digest"], "digest"),
                _text(i["mediaType"], "mediaType"),
                tuple(_text(p, "platforms") for p in i.get("platforms", [])),
            )
            for i in doc.get("images", [])
        ),
        crds=tuple(_text(c["path"], "crds") for c in doc.get("crds", [])),
        charts=tuple(
            ChartEntry(_text(c["path"], "path"), _text(c["name"], "name"), _text(c["version"], "v"))
            for c in doc.get("charts", [])
        ),
        resources=tuple(
            ResourceEntry(_text(r["path"], "path"), _count(r["order"], "order"))
            for r in doc.get("resources", [])
        ),
        base=_base(doc["base"]) if "base" in doc else None,
        referrers=tuple(_referrer(r) for r in doc.get("referrers", [])),
        preflight=tuple(_text(c["path"], "preflight") for c in doc.get("preflight", [])),
    )


def _referrer(raw: dict[str, Any]) -> ReferrerEntry:
    digest, subject = _text(raw["digest"], "digest"), _text(raw["subject"], "subject")
    if not (_DIGEST.match(digest) and _DIGEST.match(subject)):
        raise ValueError("a referrer's `digest` and `subject` must be sha256:<64 hex>")
    media_type = _text(raw["mediaType"], "mediaType")
    return ReferrerEntry(digest, media_type, _text(raw["artifactType"], "artifactType"), subject)


def _file(raw: dict[str, Any]) -> FileEntry:
    in_base = raw.get("inBase", False)
    if not isinstance(in_base, bool):
        raise ValueError("`inBase` must be true or false")
    path, size = _text(raw["path"], "path"), _count(raw["size"], "size")
    return FileEntry(path, size, _text(raw["sha256"], "sha"), in_base)


def _base(raw: dict[str, Any]) -> BaseRef:
    digest = _text(raw["manifestDigest"], "base.manifestDigest")
    if not _DIGEST.match(digest):
        raise ValueError("`base.manifestDigest` must be sha256:<64 hex>")
    version = _text(raw["version"], "base.version")
    return BaseRef(
        digest.removeprefix("sha256:"), _count(raw["sequence"], "base.sequence"), version
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"`{field}` must be a non-empty string")
    return value


def _count(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"`{field}` must be a non-negative integer")
    return value


def check_consistency(manifest: Manifest) -> None:
    """Names safe and unique, digests well-formed, every referenced path listed in `files`."""
    if len(manifest.files) > MAX_FILES:
        raise ManifestError(f"manifest check failed: more than {MAX_FILES} files")
    seen: set[str] = set()
    for entry in manifest.files:
        _check_file(entry, seen)
        seen.add(entry.path)
    dirs = {d for path in seen for d in parent_dirs(path)}
    clash = sorted(seen & dirs)
    if clash:
        raise ManifestError(f"manifest check failed: '{clash[0]}' is both a file and a directory")
    referenced = [*manifest.crds, *(c.path for c in manifest.charts)]
    referenced += [r.path for r in manifest.resources] + list(manifest.preflight)
    for path in referenced:
        if path not in seen:
            raise ManifestError(f"manifest check failed: '{path}' is referenced but not in `files`")
    if manifest.from_base and manifest.base is None:
        raise ManifestError("manifest check failed: files are marked `inBase` but no base is named")
    if manifest.base is not None and manifest.base.sequence >= manifest.sequence:
        raise ManifestError("manifest check failed: a delta's base must have a lower sequence")
    for image in manifest.images:
        if not _DIGEST.match(image.digest):
            raise ManifestError(f"manifest check failed: image digest '{image.digest}' malformed")


def _check_file(entry: FileEntry, seen: set[str]) -> None:
    problem = path_problem(entry.path)
    if problem is None and entry.path.split("/")[0] not in CONTENT_TOPS:
        problem = f"top directory must be one of {', '.join(CONTENT_TOPS)}"
    if problem is None and entry.path in seen:
        problem = "listed twice"
    if problem is None and not _HEX64.match(entry.sha256):
        problem = "sha256 must be 64 lowercase hex digits"
    if problem is not None:
        raise ManifestError(f"manifest check failed: file '{entry.path}': {problem}")


def sign_manifest(manifest: Manifest, keys: list[Any]) -> dsse.Envelope:
    """Sign a manifest with bundle keys."""
    return dsse.sign(dsse.PAYLOAD_MANIFEST, manifest.to_payload(), keys)


def verify_manifest(envelope_bytes: bytes, keyring: Keyring, now: datetime) -> VerifiedManifest:
    """Check the bundle-role threshold, then parse only the verified bytes, then expiry."""
    envelope = dsse.parse(envelope_bytes, "manifest")
    role = keyring.role("bundle")
    payload, signers = dsse.verify(
        envelope, dsse.PAYLOAD_MANIFEST, keyring.role_keys("bundle"), role.threshold, "manifest"
    )
    manifest = from_payload(payload)
    if now >= manifest.expires:
        raise ExpiredError(
            f"expiry check failed: manifest of {manifest.product} {manifest.version} expired at"
            f" {format_time(manifest.expires)} (clock: {format_time(now)}); get a newer bundle"
        )
    return VerifiedManifest(manifest, hashlib.sha256(payload).hexdigest(), signers)
