"""The verified content of an OCI image layout as plain values: images, manifests, blobs.

Pure: built by `layout.read_layout` (which does the file I/O and the verification); walked by
the plan. Blob bytes are not held here, only where they live (`blob_path`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airgap import oci


@dataclass(frozen=True)
class ManifestNode:
    """A manifest or index with its exact bytes and the digests it references."""

    descriptor: oci.Descriptor
    raw: bytes
    children: tuple[str, ...]
    blobs: tuple[str, ...]
    subject: str | None = None  # an OCI 1.1 referrer: the digest of the manifest it refers to


@dataclass(frozen=True)
class ImageEntry:
    """One top-level index.json entry: the source reference and its root descriptor."""

    ref_name: str
    root: oci.Descriptor


@dataclass(frozen=True)
class LayoutGraph:
    """Everything an OCI layout holds, verified; blob bytes stay on disk under `root`."""

    root: Path
    images: tuple[ImageEntry, ...]
    manifests: Mapping[str, ManifestNode]
    blobs: Mapping[str, oci.Descriptor]
    # Blobs a delta bundle leaves to its base: not on disk, must already be in the registry.
    absent: frozenset[str] = frozenset()
    # Referrers (signatures, SBOMs…) in index.json order; each travels with its subject.
    referrers: tuple[oci.Descriptor, ...] = ()

    def blob_path(self, digest: str) -> Path:
        """Where the layout keeps the blob `digest`."""
        return blob_path(self.root, digest)

    def closure(self, image: ImageEntry) -> tuple[list[oci.Descriptor], list[ManifestNode]]:
        """Blobs (deduplicated) and manifests (children before parents) of one image.

        The referrers of its manifests come after them (a referrer after its subject), with
        their own blobs: a signature travels wherever the image goes.
        """
        blobs: dict[str, oci.Descriptor] = {}
        manifests: dict[str, ManifestNode] = {}
        self._collect(image.root.digest, blobs, manifests)
        pending = [r.digest for r in self.referrers]
        while attached := [d for d in pending if self.manifests[d].subject in manifests]:
            for digest in attached:
                self._collect(digest, blobs, manifests)
            pending = [d for d in pending if d not in manifests]
        return list(blobs.values()), list(manifests.values())

    def _collect(
        self, digest: str, blobs: dict[str, oci.Descriptor], manifests: dict[str, ManifestNode]
    ) -> None:
        node = self.manifests[digest]
        for child in node.children:
            self._collect(child, blobs, manifests)
        for blob in node.blobs:
            blobs.setdefault(blob, self.blobs[blob])
        manifests.setdefault(digest, node)


def blob_path(root: Path, digest: str) -> Path:
    """Where an OCI layout at `root` keeps the blob `digest`."""
    return root / "blobs" / "sha256" / digest.removeprefix("sha256:")
