"""Reading and verifying an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).

`read_layout` walks index.json → indexes → manifests → configs and layers and checks every
blob's size and sha256 against its descriptor before returning, so nothing unverified can
reach a registry. This module does the file I/O; the resulting `graph.LayoutGraph` is a value.
Blobs are hashed in 1 MiB reads: memory stays flat whatever the layer size.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from airgap import oci
from airgap.errors import LayoutError
from airgap.graph import ImageEntry, LayoutGraph, ManifestNode, blob_path
from refs.relocation import parse_reference

READ_SIZE = 1024 * 1024
VERIFY_WORKERS = min(4, os.cpu_count() or 1)


def read_layout(root: Path, absent: frozenset[str] = frozenset()) -> LayoutGraph:
    """Parse and fully verify the layout at `root`; raise LayoutError on the first problem.

    `absent`: digests of layers and configs a delta bundle leaves to its base; they are not on
    disk, so not hashed here (the push plan requires them in the registry instead).
    """
    _check_layout_file(root)
    entries = oci.index_children(_read_small(root / "index.json", "index.json"), "index.json")
    images = tuple(_image_entry(entry) for entry in entries if entry.ref_name is not None)
    referrers = tuple(entry for entry in entries if entry.ref_name is None)
    manifests: dict[str, ManifestNode] = {}
    blobs: dict[str, oci.Descriptor] = {}
    for image in images:
        _walk(root, image.root, manifests, blobs)
    for referrer in referrers:
        _walk(root, referrer, manifests, blobs)
    for referrer in referrers:
        _check_referrer(referrer, manifests)
    # hashlib releases the GIL on large updates: blobs are hashed in parallel.
    with ThreadPoolExecutor(max_workers=VERIFY_WORKERS, thread_name_prefix="verify") as pool:
        here = [d for d in blobs.values() if d.digest not in absent]
        for future in [pool.submit(verify_blob, root, d) for d in here]:
            future.result()
    return LayoutGraph(root, images, manifests, blobs, absent & frozenset(blobs), referrers)


def _check_referrer(entry: oci.Descriptor, manifests: dict[str, ManifestNode]) -> None:
    subject = manifests[entry.digest].subject
    if subject is None:
        raise LayoutError(
            f"index.json: entry {entry.digest} needs an '{oci.REF_NAME}' annotation holding a "
            "full image reference (or a `subject`, as a referrer)"
        )
    if subject not in manifests:
        raise LayoutError(
            f"index.json: referrer {entry.digest} refers to {subject}, which no image of the"
            " layout holds"
        )


def _check_layout_file(root: Path) -> None:
    doc = oci.load_json(_read_small(root / "oci-layout", "oci-layout"), "oci-layout")
    if doc.get("imageLayoutVersion") != "1.0.0":
        raise LayoutError(
            f"{root}: unsupported imageLayoutVersion {doc.get('imageLayoutVersion')!r}"
        )


def _image_entry(entry: oci.Descriptor) -> ImageEntry:
    if entry.ref_name is None or parse_reference(entry.ref_name) is None:
        raise LayoutError(
            f"index.json: entry {entry.digest} needs an '{oci.REF_NAME}' annotation holding a "
            f"full image reference (got {entry.ref_name!r})"
        )
    if entry.media_type not in oci.INDEX_TYPES | oci.MANIFEST_TYPES:
        raise LayoutError(f"index.json: entry {entry.digest} has unsupported {entry.media_type}")
    return ImageEntry(entry.ref_name, entry)


def _walk(
    root: Path,
    desc: oci.Descriptor,
    manifests: dict[str, ManifestNode],
    blobs: dict[str, oci.Descriptor],
) -> None:
    if desc.digest in manifests:
        return
    raw = read_manifest(root, desc)
    if desc.media_type in oci.INDEX_TYPES:
        children = oci.index_children(raw, desc.digest)
        for child in children:
            if child.media_type not in oci.INDEX_TYPES | oci.MANIFEST_TYPES:
                raise LayoutError(f"{desc.digest}: index entry has unsupported {child.media_type}")
            _walk(root, child, manifests, blobs)
        manifests[desc.digest] = ManifestNode(desc, raw, tuple(c.digest for c in children), ())
        return
    refs = oci.manifest_blobs(raw, desc.digest)
    for ref in refs:
        known = blobs.setdefault(ref.digest, ref)
        if known.size != ref.size:
            raise LayoutError(
                f"blob {ref.digest} is described with sizes {known.size} and {ref.size}"
            )
    manifests[desc.digest] = ManifestNode(
        desc,
        raw,
        (),
        tuple(dict.fromkeys(r.digest for r in refs)),
        oci.subject_of(raw, desc.digest),
    )


def read_manifest(root: Path, desc: oci.Descriptor) -> bytes:
    """Exact bytes of a manifest blob, checked against its descriptor."""
    if desc.size > oci.MAX_MANIFEST_BYTES:
        raise LayoutError(f"manifest {desc.digest} is {desc.size} bytes; the limit is 4 MiB")
    raw = _read_small(blob_path(root, desc.digest), desc.digest)
    actual = "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(raw) != desc.size or actual != desc.digest:
        raise LayoutError(_mismatch(desc, len(raw), actual))
    return raw


def verify_blob(root: Path, desc: oci.Descriptor) -> None:
    """Stream-hash a blob file and compare it with its descriptor."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter_file(blob_path(root, desc.digest), 0, desc.digest):
        digest.update(chunk)
        size += len(chunk)
        if size > desc.size:
            break
    actual = "sha256:" + digest.hexdigest()
    if size != desc.size or actual != desc.digest:
        raise LayoutError(_mismatch(desc, size, actual))


def iter_file(path: Path, offset: int, what: str, limit: int | None = None) -> Iterator[bytes]:
    """Yield a regular file's bytes from `offset` in 1 MiB reads (up to `limit` bytes)."""
    fd = _open_regular(path, what)
    with os.fdopen(fd, "rb") as handle:
        handle.seek(offset)
        remaining = limit
        while remaining is None or remaining > 0:
            chunk = _read(
                handle, READ_SIZE if remaining is None else min(READ_SIZE, remaining), path
            )
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _read(handle: IO[bytes], size: int, path: Path) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise LayoutError(f"cannot read {path} ({exc.strerror}): check the disk") from exc


def _open_regular(path: Path, what: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise LayoutError(
            f"{what}: cannot open {path} ({exc.strerror}); is the layout complete?"
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LayoutError(f"{what}: {path} is not a regular file")
    return fd


def _read_small(path: Path, what: str) -> bytes:
    with os.fdopen(_open_regular(path, what), "rb") as handle:
        raw = handle.read(oci.MAX_MANIFEST_BYTES + 1)
    if len(raw) > oci.MAX_MANIFEST_BYTES:
        raise LayoutError(f"{what}: {path} is larger than 4 MiB")
    return raw


def _mismatch(desc: oci.Descriptor, size: int, actual: str) -> str:
    return (
        f"blob {desc.digest} does not match its descriptor (size {size} vs {desc.size}, "
        f"sha256 {actual}): the layout is corrupt or tampered with; nothing was pushed — "
        "re-extract the bundle from a verified archive"
    )
