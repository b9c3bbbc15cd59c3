"""Crafted tar headers benchmark (not a test): the strict reader next to plain `tarfile`.

    .venv/bin/python bench/tar_headers.py [--digits-headers 20]

For each input the red team built (pax `size=-5`, a pax sparse map, 300 chained extended
headers, N chained 60 KiB pax headers of digits), prints the time and the outcome of the bundle
reader (`ArchiveReader.read_head`) and of `tarfile` iterating the same bytes in stream mode on
this interpreter, side by side with their ratio. On a Python without the CVE-2024-6232 fix the
`tarfile` column takes seconds per digits header; the reader never hands it such a header.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bundle.archive import ArchiveReader
from bundle.interpreter import tarfile_is_patched

END = b"\0" * 1024


def header(name: str, type_: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = type_
    buf = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    buf[124:136] = tarfile.itn(size, 12, tarfile.GNU_FORMAT)
    buf[148:156] = b" " * 8
    buf[148:156] = b"%06o\0 " % sum(buf)
    return bytes(buf)


def pax(records: bytes) -> bytes:
    pad = b"\0" * (-len(records) % 512)
    return header("././@PaxHeader", tarfile.XHDTYPE, len(records)) + records + pad


def record(key: str, value: bytes) -> bytes:
    body = f" {key}=".encode() + value + b"\n"
    length = len(body) + 1
    length += len(str(length)) - 1
    return str(length).encode() + body


def regular(name: str, data: bytes) -> bytes:
    return header(name, tarfile.REGTYPE, len(data)) + data + b"\0" * (-len(data) % 512)


def inputs(digits_headers: int) -> dict[str, bytes]:
    keyring = regular("keyring/00000001.dsse.json", b"{}")
    return {
        "pax size=-5": pax(record("size", b"-5")) + keyring + END,
        "pax sparse map (truncated)": pax(record("GNU.sparse.map", b"0,")) + keyring + END,
        "300 chained extended headers": b"".join(
            pax(record("path", f"p{i}".encode())) for i in range(300)
        )
        + keyring
        + END,
        f"{digits_headers} x 60 KiB pax of digits": pax(b"1" * 60 * 1024) * digits_headers
        + keyring
        + END,
    }


def timed(call: Callable[[], object]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        call()
        outcome = "accepted"
    except Exception as exc:  # the point: which family each one raises
        outcome = f"{type(exc).__name__}"
    return time.perf_counter() - start, outcome


def with_tarfile(data: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        for _ in tar:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits-headers", type=int, default=20)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} ({sys.executable}), tarfile CVE-2024-6232 fix:"
          f" {'present' if tarfile_is_patched() else 'MISSING'}")  # fmt: skip
    print(f"{'input':34} {'reader s':>9} {'reader raises':>14} {'tarfile s':>10} "
          f"{'tarfile raises':>18} {'ratio':>8}")  # fmt: skip
    for name, data in inputs(args.digits_headers).items():
        ours, our_out = timed(lambda d=data: ArchiveReader(io.BytesIO(d)).read_head())
        theirs, their_out = timed(lambda d=data: with_tarfile(d))
        ratio = theirs / ours if ours > 0 else float("inf")
        print(f"{name:34} {ours:9.4f} {our_out:>14} {theirs:10.4f} {their_out:>18} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
