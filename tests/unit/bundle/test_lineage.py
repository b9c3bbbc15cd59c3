"""The channel history rules (`bundle.lineage`) and the import plan (`bundle.importplan`): which
Bundle is in force, which is superseded, names, limits checked before any write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bundle.errors import BundleError
from bundle.importplan import MAX_CONFIGMAP_FILE, check_fits, content_name, split_stored
from bundle.lineage import (
    APPLIED_AT,
    Imported,
    bundle_name,
    format_applied,
    in_force,
    lineage,
    superseded_by,
)
from bundle.manifest import FileEntry, Manifest, ResourceEntry
from tests.unit.bundle.factory import NOW


def _obj(name: str, seq: int, created: str, applied: int | None = None) -> dict[str, Any]:
    notes = {} if applied is None else {APPLIED_AT: format_applied(NOW + timedelta(applied))}
    return {
        "metadata": {"name": name, "creationTimestamp": created, "annotations": notes},
        "spec": {"product": "p", "channel": "stable", "sequence": seq,
                 "manifestDigest": "sha256:" + "a" * 64},
    }  # fmt: skip


def _family(*objs: dict[str, Any]) -> list[Imported]:
    return lineage(
        [*objs, _obj("other", 9, "2026-01-01T00:00:00Z", 9) | {"spec": {}}], "p", "stable"
    )


def test_the_bundle_in_force_is_the_one_applied_last_not_the_highest_sequence() -> None:
    family = _family(
        _obj("b2", 2, "2026-01-01T00:00:00Z", 1), _obj("b1", 1, "2026-01-02T00:00:00Z", 2)
    )
    assert [b.name for b in family] == ["b2", "b1"]
    found = in_force(family)
    assert found is not None
    assert found.name == "b1"
    assert found.to_applied().manifest_digest == "a" * 64
    assert in_force(family, exclude="b1").name == "b2"  # type: ignore[union-attr]


def test_an_applied_bundle_is_superseded_by_one_applied_after_it() -> None:
    family = _family(
        _obj("b1", 1, "2026-01-01T00:00:00Z", 1), _obj("b2", 2, "2026-01-02T00:00:00Z", 2)
    )
    assert superseded_by(family[0], family).name == "b2"  # type: ignore[union-attr]
    assert superseded_by(family[1], family) is None


def test_a_never_applied_bundle_is_superseded_only_by_a_later_import_with_a_higher_sequence() -> (
    None
):
    b2 = _obj("b2", 2, "2026-01-01T00:00:00Z")
    b3 = _obj("b3", 3, "2026-01-02T00:00:00Z", 1)
    older_import = _family(b2, b3)
    assert superseded_by(older_import[0], older_import).name == "b3"  # type: ignore[union-attr]
    rollback = _family(_obj("b1", 1, "2026-01-03T00:00:00Z"), b3)
    assert superseded_by(rollback[0], rollback) is None  # the rollback check refuses it instead
    same_second = _family(_obj("b2", 2, "2026-01-02T00:00:00Z"), b3)
    assert superseded_by(same_second[0], same_second) is None


def test_an_unreadable_applied_annotation_counts_as_never_applied() -> None:
    obj = _obj("b1", 1, "2026-01-01T00:00:00Z")
    obj["metadata"]["annotations"][APPLIED_AT] = "yesterday"
    assert Imported.from_object(obj).applied_at is None


@pytest.mark.parametrize(
    ("product", "channel", "expected"),
    [("acme", "stable", "acme-stable-7"), ("Acme_Platform", "stable", "acme-platform-stable-7-")],
)
def test_bundle_names_are_dns_labels(product: str, channel: str, expected: str) -> None:
    name = bundle_name(product, channel, 7)
    assert name.startswith(expected)
    assert len(name) <= 63
    assert bundle_name("x" * 80, "stable", 1) != bundle_name("x" * 81, "stable", 1)
    assert len(bundle_name("x" * 80, "stable", 1)) <= 63


def _manifest(size: int, count: int = 1) -> Manifest:
    files = tuple(FileEntry(f"resources/{i}.yaml", size, f"{i:064x}") for i in range(count))
    resources = tuple(ResourceEntry(f.path, 0) for f in files)
    return Manifest("p", "stable", "1", 1, NOW, NOW, files, resources=resources)


def test_files_too_large_for_a_configmap_are_refused_pointing_at_airgap_import() -> None:
    with pytest.raises(BundleError, match="outpost airgap import"):
        check_fits(_manifest(MAX_CONFIGMAP_FILE + 1), [b"{}"], b"{}", None)
    check_fits(_manifest(MAX_CONFIGMAP_FILE), [b"{}"], b"{}", None)


@pytest.mark.parametrize(
    ("chain", "envelope", "count"),
    [([b"{}"] * 17, b"{}", 1), ([b"{}"], b"x" * 530000, 1), ([b"{}"], b"{}", 1001)],
)
def test_what_a_bundle_object_cannot_hold_is_refused_before_any_write(
    chain: list[bytes], envelope: bytes, count: int
) -> None:
    with pytest.raises(BundleError, match="does not fit a Bundle object"):
        check_fits(_manifest(10, count), chain, envelope, None)


def test_content_already_stored_is_not_stored_again_and_duplicates_once() -> None:
    a, b = FileEntry("resources/a", 1, "1" * 64), FileEntry("resources/b", 1, "2" * 64)
    copy = FileEntry("resources/c", 1, "2" * 64)
    store, stored = split_stored([a, b, copy], {content_name(a.sha256)})
    assert store == (b,)
    assert stored == (a,)
    assert content_name(a.sha256) == "outpost-content-" + "1" * 40
