"""Hypothesis strategies for untrusted input: JSON of any shape, tar header blocks, pax records."""

from __future__ import annotations

import json
import tarfile

from hypothesis import strategies as st

HUGE = st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from([10**400, -(10**400)])


def json_values(max_leaves: int = 12) -> st.SearchStrategy[object]:
    """Any JSON value, with big and negative numbers, odd strings, some nesting."""
    leaves = st.none() | st.booleans() | HUGE | st.floats(allow_nan=False) | st.text(max_size=40)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
        max_leaves=max_leaves,
    )


def json_bytes() -> st.SearchStrategy[bytes]:
    return json_values().map(lambda v: json.dumps(v).encode())


def _checksum(buf: bytearray) -> bytes:
    buf[148:156] = b" " * 8
    buf[148:156] = b"%06o\0 " % sum(buf)
    return bytes(buf)


@st.composite
def tar_header(draw: st.DrawFn) -> bytes:
    """One 512-byte header: any type byte, any (also negative or huge) size, valid checksum."""
    info = tarfile.TarInfo(
        draw(st.sampled_from(["crds/a.yaml", "keyring/00000001.dsse.json", "x"]))
    )
    info.type = draw(st.sampled_from([b"0", b"5", b"x", b"g", b"L", b"K", b"S", b"X", b"2", b"Z"]))
    buf = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    size = draw(st.integers(min_value=-(2**60), max_value=2**60) | st.integers(0, 4096))
    buf[124:136] = tarfile.itn(size, 12, tarfile.GNU_FORMAT)
    if draw(st.booleans()):
        buf[482] = 1  # GNU "isextended": a sparse map continues in the next block
    return _checksum(buf)


KEYS = st.sampled_from(["path", "size", "mtime", "comment", "GNU.sparse.map", "hdrcharset"])
VALUES = st.binary(max_size=40) | st.sampled_from([b"-5", b"9" * 30, b"1" * 300, b"crds/a.yaml"])


@st.composite
def pax_block(draw: st.DrawFn) -> bytes:
    """A pax extended header: well-formed, off-by-some or digit-only records."""
    records = b""
    for key, value in draw(st.lists(st.tuples(KEYS, VALUES), max_size=4)):
        body = f" {key}=".encode() + value + b"\n"
        length = len(body) + len(str(len(body))) + draw(st.integers(-2, 2))
        records += str(length).encode() + body
    records += draw(st.sampled_from([b"", b"1" * 2000, b"0 ", b"\0"]))
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(records)
    head = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    return _checksum(head) + records + b"\0" * (-len(records) % tarfile.BLOCKSIZE)
