"""The strict reader against hand-made malicious tars.

Aspects: link, device and FIFO members; traversal and absolute names; unlisted, duplicate and
out-of-order members; sizes that lie; oversized members; truncation; trailing data. Each case
must fail with the named check, leave no staging directory and write nothing outside it.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from bundle.errors import ArchiveError, VerificationError
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, Vendor, vendor
from tests.unit.bundle.tarcraft import Member, head, manifest_for, read_members, write_members

GOOD = {"crds/a.yaml": b"kind: A\n", "resources/10-b.yaml": b"kind: B\n"}


@pytest.fixture(scope="module")
def acme() -> Vendor:
    return vendor()


def content(files: dict[str, bytes] = GOOD) -> list[Member]:
    return [Member(p, d) for p, d in files.items()]


def check(tmp_path: Path, v: Vendor, members: list[Member], match: str) -> None:
    bundle = write_members(tmp_path / "evil.tar", members)
    staging = tmp_path / "staging"
    with pytest.raises(VerificationError, match=match):
        verify_bundle(bundle, v.trust_root(), NOW, staging=staging)
    assert not staging.exists(), "staging must be removed after a failure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]


def test_well_formed_bundle_verifies(tmp_path: Path, acme: Vendor) -> None:
    bundle = write_members(tmp_path / "ok.tar", head(acme, manifest_for(GOOD)) + content())
    result = verify_bundle(bundle, acme.trust_root(), NOW, staging=tmp_path / "st")
    assert (tmp_path / "st" / "crds" / "a.yaml").read_bytes() == b"kind: A\n"
    assert (tmp_path / "st" / "crds" / "a.yaml").stat().st_mode & 0o777 == 0o600
    assert result.manifest.sequence == 7


@pytest.mark.parametrize(
    ("member", "match"),
    [
        (Member("crds/a.yaml", type=tarfile.SYMTYPE, linkname="/etc/passwd"), "symlink"),
        (Member("crds/a.yaml", type=tarfile.LNKTYPE, linkname="manifest.dsse.json"), "hardlink"),
        (Member("crds/a.yaml", type=tarfile.CHRTYPE), "device or FIFO"),
        (Member("crds/a.yaml", type=tarfile.BLKTYPE), "device or FIFO"),
        (Member("crds/a.yaml", type=tarfile.FIFOTYPE), "device or FIFO"),
        (Member("crds/a.yaml", type=tarfile.CONTTYPE), "member type check"),
        (Member("../escape.yaml", b"x"), r"path check failed.*'\.\.'"),
        (Member("crds/../../escape.yaml", b"x"), "path check failed"),
        (Member("/tmp/abs.yaml", b"x"), "path check failed"),
        (Member("crds/a b.yaml", b"x"), "path check failed.*characters"),
        (Member("crds/" + "x" * 300, b"x"), "path check failed"),
        (Member("crds/sneaky.yaml", b"x"), "unlisted member check failed"),
        (Member("resources/10-b.yaml", b"kind: B\n"), "member order check failed"),
        (Member("crds", type=tarfile.SYMTYPE, linkname="/"), "path check|member type check"),
    ],
)
def test_bad_first_content_member_is_rejected(
    tmp_path: Path, acme: Vendor, member: Member, match: str
) -> None:
    check(tmp_path, acme, [*head(acme, manifest_for(GOOD)), member, *content()[1:]], match)


def test_pax_path_override_is_checked(tmp_path: Path, acme: Vendor) -> None:
    evil = Member("crds/a.yaml", b"kind: A\n", extra={"path": "../../etc/cron.d/x"})
    check(tmp_path, acme, [*head(acme, manifest_for(GOOD)), evil], "path check failed")


def test_oversized_pax_header_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    evil = Member("crds/a.yaml", b"kind: A\n", extra={"comment": "x" * 100_000})
    check(tmp_path, acme, [*head(acme, manifest_for(GOOD)), evil], "extended tar header")


def test_gnu_sparse_member_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), Member("crds/a.yaml", type=tarfile.GNUTYPE_SPARSE)]
    check(tmp_path, acme, members, "sparse file")


def test_duplicate_member_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), *content(), content()[1]]
    check(tmp_path, acme, members, "duplicate member check failed")


def test_member_not_in_manifest_after_content_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), *content(), Member("crds/extra.yaml", b"x")]
    check(tmp_path, acme, members, "unlisted member check failed")


def test_size_that_lies_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), Member("crds/a.yaml", b"kind: A\n plus more")]
    check(tmp_path, acme, members, "size check failed")


def test_oversized_member_header_is_rejected_before_reading(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), Member("crds/a.yaml", size=2**40)]
    check(tmp_path, acme, members, "size check failed")


def test_oversized_manifest_member_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    ring = head(acme, manifest_for(GOOD))[:-1]
    check(tmp_path, acme, [*ring, Member("manifest.dsse.json", size=17 * 2**20)], "size check")


def test_content_digest_mismatch_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = [*head(acme, manifest_for(GOOD)), Member("crds/a.yaml", b"kind: Z\n")]
    check(tmp_path, acme, members, "digest check failed")


def test_missing_keyring_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    members = head(acme, manifest_for(GOOD))[-1:] + content()
    check(tmp_path, acme, members, "member order check failed.*keyring")


def test_link_in_head_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    ring = head(acme, manifest_for(GOOD))[:-1]
    link = Member("manifest.dsse.json", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    check(tmp_path, acme, [*ring, link], "member type check failed")


def _without_end_marker(data: bytes) -> bytes:
    body = data.rstrip(b"\0")
    return body + b"\0" * (-len(body) % 512)


def _good_bytes(tmp_path: Path, v: Vendor) -> bytes:
    path = write_members(tmp_path / "src.tar", head(v, manifest_for(GOOD)) + content())
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.mark.parametrize(
    ("cut", "match"),
    [
        (lambda b: b[: len(b) // 2], "truncated|digest|size"),
        (_without_end_marker, "truncated, the end-of-archive marker is missing"),
        (lambda b: b + b"trailing garbage", "trailing data check failed"),
        (lambda b: b + b"\0" * 20480, "trailing data check failed"),
        (lambda b: b + b"\0" * 512 + b"x", "trailing data check failed"),
    ],
)
def test_truncation_and_trailing_data_are_rejected(
    tmp_path: Path, acme: Vendor, cut: object, match: str
) -> None:
    data = cut(_good_bytes(tmp_path, acme))  # type: ignore[operator]
    (tmp_path / "evil.tar").write_bytes(data)
    staging = tmp_path / "staging"
    with pytest.raises(VerificationError, match=match):
        verify_bundle(tmp_path / "evil.tar", acme.trust_root(), NOW, staging=staging)
    assert not staging.exists()


def test_gzip_wrapped_bundle_is_rejected(tmp_path: Path, acme: Vendor) -> None:
    import gzip

    (tmp_path / "evil.tar").write_bytes(gzip.compress(_good_bytes(tmp_path, acme)))
    with pytest.raises(ArchiveError, match=r"archive check failed"):
        verify_bundle(tmp_path / "evil.tar", acme.trust_root(), NOW)


def test_rewritten_good_bundle_still_verifies(tmp_path: Path, acme: Vendor) -> None:
    path = write_members(tmp_path / "a.tar", head(acme, manifest_for(GOOD)) + content())
    again = write_members(tmp_path / "b.tar", read_members(path))
    assert verify_bundle(again, acme.trust_root(), NOW).manifest.sequence == 7


def test_manifest_with_a_file_that_is_also_a_directory_is_rejected(
    tmp_path: Path, acme: Vendor
) -> None:
    files = {"crds/a": b"x", "crds/a/b.yaml": b"y"}
    check(tmp_path, acme, [*head(acme, manifest_for(files)), *content(files)], "both a file and")
