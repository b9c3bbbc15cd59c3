"""Crafted tar headers: the strict reader raises only `ArchiveError`, quickly, naming the check.

Aspects (the red team's findings): a pax `size=-5`; a truncated GNU sparse map; 300 chained
extended headers; chained 64 KiB pax headers of digits (CPython's tarfile ReDoS, CVE-2024-6232);
pax keys the writer never uses; GNU long names; negative base-256 sizes; oversized keyring
entries. `tarfile`'s own extended-header code is never reached (patched to fail here).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bundle.archive import MAX_KEYRING_BYTES, ArchiveReader
from bundle.errors import ArchiveError
from bundle.tarheaders import parse_pax
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, Vendor, vendor
from tests.unit.bundle.tarcraft import head, manifest_for

GOOD = {"crds/a.yaml": b"kind: A\n"}
END = b"\0" * (2 * tarfile.BLOCKSIZE)


@pytest.fixture(scope="module")
def acme() -> Vendor:
    return vendor()


@pytest.fixture(autouse=True)
def tarfile_never_parses_extended_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("tarfile's own extended-header code was reached")

    for name in ("_proc_pax", "_proc_gnulong", "_proc_sparse"):
        monkeypatch.setattr(tarfile.TarInfo, name, refuse)


def header(name: str, type_: bytes, size: int, patch: dict[int, int] | None = None) -> bytes:
    """One ustar header block; sizes that octal cannot hold are written in base-256."""
    info = tarfile.TarInfo(name)
    info.type = type_
    buf = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    buf[124:136] = tarfile.itn(size, 12, tarfile.GNU_FORMAT)
    for offset, value in (patch or {}).items():
        buf[offset] = value
    buf[148:156] = b" " * 8
    buf[148:156] = b"%06o\0 " % sum(buf)
    return bytes(buf)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


def pax(records: bytes, name: str = "././@PaxHeader") -> bytes:
    return header(name, tarfile.XHDTYPE, len(records)) + padded(records)


def record(key: str, value: bytes) -> bytes:
    body = f" {key}=".encode() + value + b"\n"
    length = len(body) + 1
    length += len(str(length)) - 1
    return str(length).encode() + body


def regular(name: str, data: bytes) -> bytes:
    return header(name, tarfile.REGTYPE, len(data)) + padded(data)


def read(raw: bytes) -> None:
    reader = ArchiveReader(io.BytesIO(raw))
    reader.read_head()


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (pax(record("size", b"-5")) + regular("keyring/00000001.dsse.json", b"{}"), "`size`"),
        (pax(record("comment", b"x")) + regular("a", b""), "key 'comment'"),
        (pax(record("GNU.sparse.map", b"0,")) + regular("a", b""), "key 'GNU.sparse.map'"),
        (pax(record("GNU.sparse.major", b"1")) + regular("a", b"5\n1\n"), "GNU.sparse.major"),
        (pax(record("path", b"a") * 2) + regular("a", b""), "occurs twice"),
        (pax(b"6 xyz\n") + regular("a", b""), "key 'xyz'"),
        (pax(b"99 path=a\n") + regular("a", b""), "length"),
        (pax(b"path=a\n") + regular("a", b""), "length"),
        (pax(record("path", b"\xff")) + regular("a", b""), "UTF-8"),
        (pax(record("mtime", b"1e400")) + regular("a", b""), "`mtime`"),
        (pax(record("path", b"a")) * 2 + regular("a", b""), "more than one"),
        (pax(record("path", b"a")) + END, "not followed by a member"),
        (header("a", tarfile.GNUTYPE_SPARSE, 0, {482: 1}), "sparse file"),
        (header("a", tarfile.GNUTYPE_LONGNAME, 600) + b"n" * 512, "GNU long-name"),
        (header("a", tarfile.GNUTYPE_LONGLINK, 600) + b"n" * 512, "GNU long-link"),
        (header("a", tarfile.XGLTYPE, 10) + padded(b"8 path=\n"), "global pax"),
        (header("a", b"Z", 0), "of type"),
        (header("keyring/00000001.dsse.json", tarfile.REGTYPE, -5), "claims -5 bytes"),
        (header("keyring/00000001.dsse.json", tarfile.REGTYPE, 2**80), "claims"),
    ],
)
def test_crafted_headers_raise_the_archive_error(raw: bytes, match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        read(raw + END)


def test_truncated_gnu_sparse_map_is_refused_from_the_header() -> None:
    # The header announces extension blocks (isextended) that never come.
    with pytest.raises(ArchiveError, match="sparse file"):
        read(regular("keyring/00000001.dsse.json", b"{}") + header("a", b"S", 0, {482: 1}))


def test_truncated_extended_header_is_refused() -> None:
    with pytest.raises(ArchiveError, match="truncated"):
        read(pax(record("path", b"a"))[:700])


def test_long_chain_of_extended_headers_is_refused_at_the_second() -> None:
    chain = b"".join(pax(record("path", f"p{i}".encode())) for i in range(300))
    with pytest.raises(ArchiveError, match="more than one extended header"):
        read(chain + regular("a", b"") + END)


@pytest.mark.timeout(20)  # a hang guard, not a benchmark: the flawed tarfile takes ~80 s here
def test_chained_pax_headers_of_digits_fail_fast() -> None:
    digits = pax(b"1" * (60 * 1024))
    with pytest.raises(ArchiveError, match="pax header check failed"):
        read(digits * 20 + regular("a", b"") + END)


def test_parse_pax_is_linear_on_digits() -> None:
    with pytest.raises(ArchiveError):
        parse_pax(b"9" * 65536)
    assert parse_pax(record("path", b"crds/a.yaml") + record("size", b"8")) == {
        "path": b"crds/a.yaml",
        "size": b"8",
    }


def bundle_with(tmp_path: Path, acme: Vendor, evil: bytes) -> Path:
    """A real bundle head followed by crafted members instead of the content."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in head(acme, manifest_for(GOOD)):
            info = tarfile.TarInfo(m.name)
            info.size = len(m.data)
            tar.addfile(info, io.BytesIO(m.data))
        offset = tar.offset
    path = tmp_path / "evil.tar"
    path.write_bytes(out.getvalue()[:offset] + evil + END + b"\0" * tarfile.RECORDSIZE)
    return path


def test_pax_size_in_content_is_refused_by_verify(tmp_path: Path, acme: Vendor) -> None:
    evil = pax(record("size", b"-5")) + regular("crds/a.yaml", b"kind: A\n")
    with pytest.raises(ArchiveError, match="pax header check failed"):
        verify_bundle(bundle_with(tmp_path, acme, evil), acme.trust_root(), NOW)


def test_well_formed_pax_content_still_verifies(tmp_path: Path, acme: Vendor) -> None:
    ok = pax(record("path", b"crds/a.yaml") + record("mtime", b"0")) + regular("x", b"kind: A\n")
    assert verify_bundle(bundle_with(tmp_path, acme, ok), acme.trust_root(), NOW).manifest


def test_oversized_keyring_entry_is_refused_before_it_is_read() -> None:
    big = header("keyring/00000001.dsse.json", tarfile.REGTYPE, MAX_KEYRING_BYTES + 1)
    with pytest.raises(ArchiveError, match=f"over {MAX_KEYRING_BYTES} bytes"):
        read(big)  # no data follows: refused from the header alone
