"""The streaming OCI image-layout check, fed the files of a merged layout.

Aspects: a merged two-platform image passes; an orphan blob, a missing blob, a blob out of
order, a size that differs from its descriptor and an index that differs from the signed image
list each fail with the OCI layout check.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bundle.errors import ArchiveError
from bundle.layout import merge_layouts
from bundle.manifest import ImageEntry
from bundle.ocigraph import OciGraph
from bundle.writer import Content
from tests.unit.bundle.factory import oci_layout


def feed(images: tuple[ImageEntry, ...], contents: list[Content]) -> None:
    graph = OciGraph(images)
    for item in contents:
        entry = item.entry()
        data = item.data if item.data is not None else item.source.read_bytes()  # type: ignore[union-attr]
        graph.accept(entry, data if graph.wants_bytes(entry) else None)
    graph.finish()


@pytest.fixture
def merged(tmp_path: Path):  # type: ignore[no-untyped-def]
    second = oci_layout(tmp_path / "b", ref="x/y:1", text="other")
    return merge_layouts([oci_layout(tmp_path / "a"), second])


def test_merged_layout_passes_and_dedupes_blobs(merged) -> None:  # type: ignore[no-untyped-def]
    feed(merged.images, list(merged.contents))
    paths = [c.path for c in merged.contents]
    # the two images share their configs: 6 blobs for the first, 4 new ones for the second
    assert len(paths) == len(set(paths)) == 2 + 6 + 4
    index = json.loads(merged.contents[1].data)
    refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert refs == ["registry.acme.dev/acme/api:2.14.0", "x/y:1"]


def test_orphan_blob_fails(merged) -> None:  # type: ignore[no-untyped-def]
    orphan = Content.from_bytes("images/blobs/sha256/" + "0" * 64, b"")
    orphan = replace(orphan, path="images/blobs/sha256/" + orphan.sha256)
    with pytest.raises(ArchiveError, match=r"not referenced by anything before it"):
        feed(merged.images, [*merged.contents, orphan])


def test_missing_blob_fails(merged) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArchiveError, match=r"referenced but not in the bundle"):
        feed(merged.images, list(merged.contents[:-1]))


def test_blob_before_its_parent_fails(merged) -> None:  # type: ignore[no-untyped-def]
    contents = list(merged.contents)
    contents[2], contents[-1] = contents[-1], contents[2]
    with pytest.raises(ArchiveError, match=r"not referenced by anything before it"):
        feed(merged.images, contents)


def test_index_must_match_signed_images(merged) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArchiveError, match=r"does not list exactly the images"):
        feed(merged.images[:1], list(merged.contents))


def test_blob_size_must_match_descriptor(merged) -> None:  # type: ignore[no-untyped-def]
    contents = list(merged.contents)
    last = contents[-1]
    contents[-1] = replace(last, size=last.size + 1)
    with pytest.raises(ArchiveError, match=r"its descriptor says"):
        feed(merged.images, contents)
