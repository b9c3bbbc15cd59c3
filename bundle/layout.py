"""Merge OCI image-layout directories (e.g. from `skopeo copy --all … oci:DIR`) into `images/`.

I/O: reads `index.json` and blobs from each source layout. Every image named in a source index
becomes one entry of the merged index, annotated `org.opencontainers.image.ref.name` with its
source reference; blobs are deduplicated by digest and listed breadth-first from the index, the
order `ocigraph.OciGraph` relies on. Manifests and configs are hashed as they are parsed, so a
corrupt source layout is refused here rather than signed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundle.errors import BundleError
from bundle.manifest import ImageEntry, ReferrerEntry
from bundle.ocigraph import (
    BLOBS,
    INDEX,
    INDEX_TYPES,
    LAYOUT,
    MANIFEST_TYPES,
    REF_NAME,
    json_object,
)
from bundle.writer import Content

CONTAINERD_NAME = "io.containerd.image.name"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class MergedImages:
    images: tuple[ImageEntry, ...]
    contents: tuple[Content, ...]  # oci-layout, index.json, then blobs breadth-first
    documents: frozenset[str] = frozenset()  # paths of the JSON ones: layout, index, manifests
    referrers: tuple[ReferrerEntry, ...] = ()


def merge_layouts(dirs: list[Path]) -> MergedImages:
    """Read every image of every layout dir; return manifest entries and the files to carry.

    Index entries without a reference name whose manifest has a `subject` are OCI 1.1
    referrers (signatures, SBOMs, attestations, as `oras attach` records them): they travel
    with their subject, listed in the merged index after the images.
    """
    if not dirs:
        return MergedImages((), ())
    tops: list[tuple[Path, dict[str, Any], str]] = []
    found: dict[str, tuple[Path, dict[str, Any], ReferrerEntry]] = {}
    for directory in dirs:
        for desc in _read_index(directory):
            referrer = _referrer(directory, desc)
            if referrer is None:
                tops.append((directory, desc, _source(desc, directory)))
            else:
                found.setdefault(referrer.digest, (directory, desc, referrer))
    images = tuple(_image_entry(d, desc, source) for d, desc, source in tops)
    entries = [_annotated(t) for t in tops] + [_referrer_desc(d) for _, d, _ in found.values()]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    layout = json.dumps({"imageLayoutVersion": "1.0.0"}).encode()
    head = [
        Content.from_bytes(LAYOUT, layout),
        Content.from_bytes(INDEX, json.dumps(index, indent=1).encode()),
    ]
    walk = tops + [(d, desc, "") for d, desc, _ in found.values()]
    blobs, documents = _blobs_breadth_first(walk)
    referrers = tuple(r for _, _, r in found.values())
    _check_subjects(referrers, documents)
    paths = frozenset({LAYOUT, INDEX, *(BLOBS + d.removeprefix("sha256:") for d in documents)})
    return MergedImages(images, tuple(head + blobs), paths, referrers)


def _referrer(directory: Path, desc: dict[str, Any]) -> ReferrerEntry | None:
    """The referrer an unnamed index entry is, or None for a named entry (an image)."""
    notes = desc.get("annotations") or {}
    if notes.get(CONTAINERD_NAME) or notes.get(REF_NAME):
        return None
    if desc.get("mediaType") not in MANIFEST_TYPES | INDEX_TYPES:
        return None
    doc = _load_blob(directory, desc)
    subject = doc.get("subject")
    if not isinstance(subject, dict) or not isinstance(subject.get("digest"), str):
        return None
    config = doc.get("config")
    fallback = config.get("mediaType", "") if isinstance(config, dict) else ""
    kind = desc.get("artifactType") or doc.get("artifactType") or fallback
    return ReferrerEntry(str(desc["digest"]), str(desc["mediaType"]), str(kind), subject["digest"])


def _referrer_desc(desc: dict[str, Any]) -> dict[str, Any]:
    keys = ("mediaType", "digest", "size", "artifactType", "annotations")
    return {k: desc[k] for k in keys if k in desc}


def _check_subjects(referrers: tuple[ReferrerEntry, ...], documents: set[str]) -> None:
    for referrer in referrers:
        if referrer.subject not in documents:
            raise BundleError(
                f"referrer {referrer.digest} ({referrer.artifact_type}) refers to"
                f" {referrer.subject}, which is not a manifest of any carried image"
            )


def _read_index(directory: Path) -> list[dict[str, Any]]:
    doc = _load_json(directory / "index.json", str(directory))
    manifests = doc.get("manifests")
    if not isinstance(manifests, list) or not manifests:
        raise BundleError(f"'{directory}/index.json' lists no images")
    return manifests


def _source(desc: dict[str, Any], directory: Path) -> str:
    notes = desc.get("annotations") or {}
    source = notes.get(CONTAINERD_NAME) or notes.get(REF_NAME)
    if not source:
        raise BundleError(
            f"an image in '{directory}/index.json' has no '{REF_NAME}' annotation; copy it with"
            " e.g. `skopeo copy --all docker://REF oci:DIR:REF`"
        )
    return str(source)


def _annotated(top: tuple[Path, dict[str, Any], str]) -> dict[str, Any]:
    _, desc, source = top
    entry: dict[str, Any] = {k: desc[k] for k in ("mediaType", "digest", "size") if k in desc}
    if "platform" in desc:
        entry["platform"] = desc["platform"]
    entry["annotations"] = {REF_NAME: source}
    return entry


def _image_entry(directory: Path, desc: dict[str, Any], source: str) -> ImageEntry:
    media_type = str(desc.get("mediaType", ""))
    doc = _load_blob(directory, desc)
    if media_type in INDEX_TYPES:
        platforms = [_platform(m.get("platform")) for m in doc.get("manifests", [])]
    elif media_type in MANIFEST_TYPES:
        platforms = [_platform(_load_blob(directory, doc["config"]))]
    else:
        raise BundleError(f"image '{source}' has unsupported media type '{media_type}'")
    known = tuple(sorted({p for p in platforms if p and "unknown" not in p}))
    return ImageEntry(source, str(desc["digest"]), media_type, known)


def _platform(raw: Any) -> str:
    if not isinstance(raw, dict):
        return ""
    parts = [raw.get("os", ""), raw.get("architecture", ""), raw.get("variant", "")]
    return "/".join(str(p) for p in parts if p)


def _blobs_breadth_first(
    tops: list[tuple[Path, dict[str, Any], str]],
) -> tuple[list[Content], set[str]]:
    """The blobs to carry in graph order, and the digests of the manifests and indexes."""
    queue = deque((directory, desc) for directory, desc, _ in tops)
    done: set[str] = set()
    documents: set[str] = set()
    out: list[Content] = []
    while queue:
        directory, desc = queue.popleft()
        digest = str(desc["digest"])
        if digest in done:
            continue
        done.add(digest)
        out.append(_blob_content(directory, desc))
        if desc.get("mediaType") in INDEX_TYPES | MANIFEST_TYPES:
            documents.add(digest)
            doc = _load_blob(directory, desc)
            children = [*doc.get("manifests", []), *_config(doc), *doc.get("layers", [])]
            queue.extend((directory, child) for child in children)
    return out, documents


def _config(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [doc["config"]] if "config" in doc else []


def _blob_content(directory: Path, desc: dict[str, Any]) -> Content:
    hexdigest = _hex(desc)
    content = Content.from_file(BLOBS + hexdigest, directory / "blobs" / "sha256" / hexdigest)
    if content.sha256 != hexdigest or content.size != desc.get("size"):
        raise BundleError(f"blob {desc['digest']} in '{directory}' does not match its descriptor")
    return content


def _load_blob(directory: Path, desc: dict[str, Any]) -> dict[str, Any]:
    hexdigest = _hex(desc)
    path = directory / "blobs" / "sha256" / hexdigest
    data = _read(path)
    if hashlib.sha256(data).hexdigest() != hexdigest:
        raise BundleError(f"blob '{path}' does not hash to its name")
    return _parse(data, str(path))


def _hex(desc: dict[str, Any]) -> str:
    digest = str(desc.get("digest", ""))
    hexdigest = digest.removeprefix("sha256:")
    if not digest.startswith("sha256:") or not _HEX64.fullmatch(hexdigest):
        raise BundleError(f"unsupported digest '{digest}' (only sha256 is supported)")
    return hexdigest


def _load_json(path: Path, where: str) -> dict[str, Any]:
    return _parse(_read(path), where)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read OCI layout file '{path}': {exc}") from exc


def _parse(data: bytes, where: str) -> dict[str, Any]:
    return json_object(data, where, BundleError)
