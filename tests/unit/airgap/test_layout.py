"""OCI layout reading: the graph, and every way a layout is rejected before any push."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap import oci
from airgap.errors import LayoutError
from airgap.layout import read_layout
from airgap.synthetic import ImageSpec, write_layout

REF = "registry.acme.dev/acme/api:2.14.0"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    write_layout(tmp_path / "oci", [ImageSpec(REF)], seed=1)
    return tmp_path / "oci"


def blob_file(layout: Path, media_type: str) -> Path:
    graph = read_layout(layout)
    digest = next(d.digest for d in graph.blobs.values() if d.media_type == media_type)
    return layout / "blobs" / "sha256" / digest[7:]


def test_graph_has_index_two_manifests_and_children_first(layout: Path) -> None:
    graph = read_layout(layout)
    (image,) = graph.images
    assert image.ref_name == REF
    assert image.root.media_type == oci.OCI_INDEX
    blobs, manifests = graph.closure(image)
    assert [m.descriptor.media_type for m in manifests] == [oci.OCI_MANIFEST] * 2 + [oci.OCI_INDEX]
    assert len(blobs) == 6  # per platform: config + 2 layers


def test_same_seed_gives_same_digests(tmp_path: Path) -> None:
    first = write_layout(tmp_path / "a", [ImageSpec(REF)], seed=5)
    assert write_layout(tmp_path / "b", [ImageSpec(REF)], seed=5) == first
    assert write_layout(tmp_path / "c", [ImageSpec(REF)], seed=6) != first


def test_flipped_byte_in_a_layer_is_rejected(layout: Path) -> None:
    path = blob_file(layout, oci.OCI_LAYER_GZIP)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(LayoutError, match="does not match its descriptor"):
        read_layout(layout)


def test_appended_bytes_are_rejected(layout: Path) -> None:
    path = blob_file(layout, oci.OCI_CONFIG)
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(LayoutError, match="tampered"):
        read_layout(layout)


def test_missing_blob_is_rejected(layout: Path) -> None:
    blob_file(layout, oci.OCI_LAYER_GZIP).unlink()
    with pytest.raises(LayoutError, match="cannot open"):
        read_layout(layout)


def test_symlinked_blob_is_rejected(layout: Path, tmp_path: Path) -> None:
    path = blob_file(layout, oci.OCI_CONFIG)
    outside = tmp_path / "outside"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(LayoutError, match="cannot open"):
        read_layout(layout)


def test_entry_without_ref_name_is_rejected(layout: Path) -> None:
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(LayoutError, match=oci.REF_NAME):
        read_layout(layout)


def test_wrong_layout_version_is_rejected(layout: Path) -> None:
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(LayoutError, match="imageLayoutVersion"):
        read_layout(layout)


def test_bad_descriptor_digest_is_rejected(layout: Path) -> None:
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["digest"] = "md5:abc"
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(LayoutError, match="not sha256"):
        read_layout(layout)
