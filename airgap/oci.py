"""OCI image-spec vocabulary: media types, descriptors, and parsing of manifests and indexes.

Pure: raw JSON bytes in, typed values out. Manifests are never re-serialised anywhere in
`airgap`: their digest covers the exact bytes, so the bytes read are the bytes pushed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from airgap.errors import LayoutError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
REF_NAME = "org.opencontainers.image.ref.name"
# Registries cap manifests at a few MiB (distribution: 4 MiB); larger is malformed input.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


class DescriptorDict(TypedDict):
    """A descriptor as it appears in JSON."""

    mediaType: str
    digest: str
    size: int
    annotations: NotRequired[dict[str, str]]
    platform: NotRequired[dict[str, Any]]
    artifactType: NotRequired[str]


@dataclass(frozen=True)
class Descriptor:
    """Content address plus media type; `annotations` only as far as we use them."""

    media_type: str
    digest: str
    size: int
    ref_name: str | None = None
    artifact_type: str | None = None

    def to_dict(self) -> DescriptorDict:
        """The descriptor as OCI JSON."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def parse_descriptor(raw: Any, where: str) -> Descriptor:
    """Validate one JSON descriptor (digest algorithm, size) and return it."""
    if not isinstance(raw, dict):
        raise LayoutError(f"{where}: descriptor is not a JSON object")
    media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise LayoutError(f"{where}: descriptor digest {digest!r} is not sha256:<64 hex>")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise LayoutError(f"{where}: descriptor {digest} has invalid size {size!r}")
    if not isinstance(media_type, str) or not media_type:
        raise LayoutError(f"{where}: descriptor {digest} has no mediaType")
    annotations = raw.get("annotations") or {}
    ref_name = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    kind = raw.get("artifactType")
    return Descriptor(
        media_type,
        digest,
        size,
        ref_name if isinstance(ref_name, str) else None,
        kind if isinstance(kind, str) else None,
    )


def load_json(raw: bytes, where: str) -> dict[str, Any]:
    """Decode a JSON object or raise LayoutError naming `where`."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayoutError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise LayoutError(f"{where}: top level is not a JSON object")
    return value


def index_children(raw: bytes, where: str) -> tuple[Descriptor, ...]:
    """The `manifests` descriptors of an image index (or index.json)."""
    doc = load_json(raw, where)
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise LayoutError(f"{where}: index has no 'manifests' list")
    return tuple(parse_descriptor(item, where) for item in manifests)


def subject_of(raw: bytes, where: str) -> str | None:
    """The digest in a manifest's OCI 1.1 `subject` (what it refers to), or None."""
    subject = load_json(raw, where).get("subject")
    return None if subject is None else parse_descriptor(subject, where).digest


def manifest_blobs(raw: bytes, where: str) -> tuple[Descriptor, ...]:
    """The config descriptor followed by the layer descriptors of an image manifest."""
    doc = load_json(raw, where)
    layers = doc.get("layers")
    if "config" not in doc or not isinstance(layers, list):
        raise LayoutError(f"{where}: image manifest needs 'config' and a 'layers' list")
    config = parse_descriptor(doc["config"], where)
    return (config, *(parse_descriptor(item, where) for item in layers))
