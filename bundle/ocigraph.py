"""The OCI image-layout check, done while the bundle streams past.

Pure: fed one verified content file at a time (its manifest entry and, for the few files it
needs to parse, its bytes); raises `ArchiveError` naming the broken link. The writer puts
`images/oci-layout`, `images/index.json` and then the blobs in breadth-first order from the
index, so every blob arrives after something that references it: the checker then only keeps
the set of descriptors still expected (digest, media type, size), never the layers themselves.
At the end nothing referenced may be missing and nothing unreferenced may have been carried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bundle.errors import ArchiveError
from bundle.manifest import FileEntry, ImageEntry, ReferrerEntry

LAYOUT = "images/oci-layout"
INDEX = "images/index.json"
BLOBS = "images/blobs/sha256/"
REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
# Registries refuse manifests over 4 MiB; the checker holds at most one of them at a time.
MAX_JSON_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str  # hex only
    size: int


class OciGraph:
    """Tracks which blobs are still expected while content streams past."""

    def __init__(
        self, images: tuple[ImageEntry, ...], referrers: tuple[ReferrerEntry, ...] = ()
    ) -> None:
        self.images = images
        self.referrers = referrers
        self.expected: dict[str, Descriptor] = {}
        self.seen: dict[str, int] = {}
        self.index_seen = False
        self.layout_seen = False

    def wants_bytes(self, entry: FileEntry) -> bool:
        """Whether `accept` needs this file's bytes (small JSON documents only)."""
        if entry.path in (LAYOUT, INDEX):
            return entry.size <= MAX_JSON_BYTES
        wanted = self.expected.get(entry.path.removeprefix(BLOBS))
        small = entry.size <= MAX_JSON_BYTES
        return small and wanted is not None and wanted.media_type in INDEX_TYPES | MANIFEST_TYPES

    def accept(self, entry: FileEntry, data: bytes | None) -> None:
        """Take one file whose size and sha256 already matched its manifest entry."""
        if entry.path == LAYOUT:
            self._layout(_need(data, entry))
        elif entry.path == INDEX:
            self._index(_need(data, entry))
        elif entry.path.startswith(BLOBS):
            self._blob(entry, data)
        elif entry.path.startswith("images/"):
            raise _fail(f"'{entry.path}' is not part of an OCI image layout")

    def accept_from_base(self, entry: FileEntry) -> None:
        """Take a file a delta leaves to its base: only layers and configs may be left out."""
        if not entry.path.startswith(BLOBS):
            return
        wanted = self.expected.get(entry.path.removeprefix(BLOBS))
        if wanted is not None and wanted.media_type in INDEX_TYPES | MANIFEST_TYPES:
            raise _fail(f"'{entry.path}' is an image manifest; a delta must carry every manifest")
        self._blob(entry, None)

    def finish(self) -> None:
        """Every referenced blob arrived; every signed image is in the index."""
        if self.images and not self.index_seen:
            raise _fail("the manifest lists images but the bundle has no images/index.json")
        missing = [d for d in self.expected.values() if d.digest not in self.seen]
        if missing:
            raise _fail(f"blob sha256:{missing[0].digest} is referenced but not in the bundle")

    def _layout(self, data: bytes) -> None:
        doc = _json(data, LAYOUT)
        if doc.get("imageLayoutVersion") != "1.0.0":
            raise _fail("images/oci-layout must say imageLayoutVersion '1.0.0'")
        self.layout_seen = True

    def _index(self, data: bytes) -> None:
        if not self.layout_seen:
            raise _fail("images/oci-layout must come before images/index.json")
        descriptors = _children(_json(data, INDEX), INDEX, "manifests")
        signed = {i.digest.removeprefix("sha256:"): i.media_type for i in self.images}
        signed |= {r.digest.removeprefix("sha256:"): r.media_type for r in self.referrers}
        listed = {d.digest: d.media_type for d in descriptors}
        if signed != listed:
            raise _fail(
                "images/index.json does not list exactly the images and referrers of the manifest"
            )
        self.index_seen = True
        self._expect(descriptors)

    def _blob(self, entry: FileEntry, data: bytes | None) -> None:
        digest = entry.path.removeprefix(BLOBS)
        if digest != entry.sha256:
            raise _fail(f"blob '{entry.path}' is not named after its sha256")
        wanted = self.expected.get(digest)
        if wanted is None:
            raise _fail(f"blob '{entry.path}' is not referenced by anything before it")
        if wanted.size != entry.size:
            raise _fail(
                f"blob '{entry.path}' is {entry.size} bytes, its descriptor says {wanted.size}"
            )
        self.seen[digest] = entry.size
        if wanted.media_type not in INDEX_TYPES | MANIFEST_TYPES:
            return
        if data is None:
            raise _fail(f"image manifest '{entry.path}' is over {MAX_JSON_BYTES} bytes")
        doc = _json(data, entry.path)
        if wanted.media_type in INDEX_TYPES:
            self._expect(_children(doc, entry.path, "manifests"))
        else:
            self._expect(
                _children(doc, entry.path, "config") + _children(doc, entry.path, "layers")
            )

    def _expect(self, descriptors: list[Descriptor]) -> None:
        for desc in descriptors:
            known = self.expected.setdefault(desc.digest, desc)
            if known.size != desc.size:
                raise _fail(f"blob sha256:{desc.digest} is referenced with two different sizes")


def _children(doc: dict[str, Any], where: str, key: str) -> list[Descriptor]:
    raw = doc.get(key, [])
    items = [raw] if isinstance(raw, dict) else raw
    try:
        return [_descriptor(item) for item in items]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(f"'{where}' has a malformed `{key}` descriptor ({exc})") from exc


def _descriptor(item: dict[str, Any]) -> Descriptor:
    digest = str(item["digest"])
    size = item["size"]
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise ValueError(f"unsupported digest '{digest}'")
    if not isinstance(size, int) or size < 0:
        raise ValueError("size must be a non-negative integer")
    return Descriptor(str(item["mediaType"]), digest.removeprefix("sha256:"), size)


def json_object(data: bytes, where: str, error: Callable[[str], Exception]) -> dict[str, Any]:
    """Parse an OCI layout JSON document that must be an object; `error` builds the failure."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise error(f"'{where}' is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise error(f"'{where}' must be a JSON object")
    return doc


def _json(data: bytes, where: str) -> dict[str, Any]:
    return json_object(data, where, _fail)


def _need(data: bytes | None, entry: FileEntry) -> bytes:
    if data is None:
        raise _fail(f"'{entry.path}' is over {MAX_JSON_BYTES} bytes")
    return data


def _fail(message: str) -> ArchiveError:
    return ArchiveError(f"OCI layout check failed: {message}")
