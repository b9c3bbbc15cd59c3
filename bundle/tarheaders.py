"""Tar headers, checked before `tarfile` processes them: the strict reader's first line.

I/O: reads header blocks from the `TarFile`'s stream (through `StrictTarInfo`, the `tarinfo`
class the archive reader opens the tar with). `tarfile`'s own handling of extended headers has
had crashes and a ReDoS (CVE-2024-6232: a pax header of digits took seconds per 64 KiB), and it
follows chains of extended headers recursively. So this module parses pax records itself, in
linear time, and `tarfile` never sees an extended header:

- one pax extended header (`x`) per member at most, ≤ `MAX_EXTENDED_HEADER` bytes, holding only
  the keys the bundle writer produces (`path`, `size`, `mtime`), each well formed;
- GNU long names and links, GNU sparse members, global and Solaris headers, and unknown member
  types are refused from the header block alone;
- every member's size (after its pax header) is ≥ 0 and ≤ `MAX_MEMBER_BYTES`.
Everything refused raises `ArchiveError`.
"""

from __future__ import annotations

import re
import tarfile
from typing import Any

from bundle.errors import ArchiveError

MAX_EXTENDED_HEADER = 64 * 1024
MAX_MEMBER_BYTES = 64 * 1024**3  # one content file; the manifest's size is checked later too
PAX_KEYS = frozenset({"path", "size", "mtime"})
_SIZE = re.compile(rb"^[0-9]{1,20}$")
_MTIME = re.compile(rb"^[0-9]{1,20}(?:\.[0-9]{1,9})?$")
_LENGTH_DIGITS = 20
# Member types read further; links, devices and the like are refused later with their name.
_PLAIN = frozenset(
    {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.CONTTYPE}
    | {tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE}
)
_REFUSED = {
    tarfile.GNUTYPE_SPARSE: "sparse file",
    tarfile.GNUTYPE_LONGNAME: "GNU long-name header",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link header",
    tarfile.XGLTYPE: "global pax header",
    tarfile.SOLARIS_XHDTYPE: "Solaris extended header",
}


class StrictTarInfo(tarfile.TarInfo):
    """A `TarInfo` whose header processing refuses what the bundle format never uses."""

    def _proc_member(self, tarfile_: Any) -> tarfile.TarInfo:
        _check_header(self)
        if self.type == tarfile.XHDTYPE:
            return self._proc_strict_pax(tarfile_)
        return self._proc_builtin(tarfile_)  # type: ignore[attr-defined,no-any-return]

    def _proc_strict_pax(self, tarfile_: Any) -> tarfile.TarInfo:
        if self.size > MAX_EXTENDED_HEADER:
            raise ArchiveError(
                f"size check failed: an extended tar header of {self.size} bytes is over the"
                f" {MAX_EXTENDED_HEADER} limit"
            )
        padded = self._block(self.size)  # type: ignore[attr-defined]
        buf = tarfile_.fileobj.read(padded)
        if len(buf) != padded:
            raise ArchiveError("archive check failed: truncated inside an extended tar header")
        values = parse_pax(buf[: self.size])
        member = _next_header(tarfile_)
        if member.type == tarfile.XHDTYPE or member.type in _REFUSED:
            raise ArchiveError("archive check failed: more than one extended header for one member")
        _apply(member, values)
        done = member._proc_member(tarfile_)
        done.offset = self.offset
        return done


def _check_header(info: tarfile.TarInfo) -> None:
    if info.type in _REFUSED:
        raise ArchiveError(
            f"member type check failed: '{info.name[:200]}' is a {_REFUSED[info.type]}"
        )
    if info.type not in _PLAIN and info.type != tarfile.XHDTYPE:
        raise ArchiveError(
            f"member type check failed: '{info.name[:200]}' is a member of type {info.type!r}"
        )
    if not 0 <= info.size <= MAX_MEMBER_BYTES:
        raise ArchiveError(
            f"size check failed: '{info.name[:200]}' claims {info.size} bytes (allowed: 0 to"
            f" {MAX_MEMBER_BYTES})"
        )


def _next_header(tarfile_: Any) -> StrictTarInfo:
    buf = tarfile_.fileobj.read(tarfile.BLOCKSIZE)
    try:
        member = StrictTarInfo.frombuf(buf, tarfile_.encoding, tarfile_.errors)
    except tarfile.HeaderError as exc:
        raise ArchiveError(
            f"archive check failed: an extended tar header is not followed by a member ({exc})"
        ) from exc
    member.offset = tarfile_.fileobj.tell() - tarfile.BLOCKSIZE
    return member


def parse_pax(buf: bytes) -> dict[str, bytes]:
    """Pax records `"<length> <key>=<value>\\n"`, each key known and at most once; linear time."""
    values: dict[str, bytes] = {}
    pos = 0
    while pos < len(buf):
        space = buf.find(b" ", pos, pos + _LENGTH_DIGITS + 1)
        digits = buf[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise _pax_error("a record does not start with its length")
        end = pos + int(digits)
        if end > len(buf) or end <= space + 1 or buf[end - 1] != 0x0A:
            raise _pax_error("a record's length does not match its newline")
        key, eq, value = buf[space + 1 : end - 1].partition(b"=")
        name = key.decode("ascii", "replace")
        if not eq or name not in PAX_KEYS:
            raise _pax_error(f"key '{name[:40]}' is not one the bundle writer uses")
        if name in values:
            raise _pax_error(f"key '{name}' occurs twice")
        values[name] = value
        pos = end
    return values


def _apply(member: tarfile.TarInfo, values: dict[str, bytes]) -> None:
    if "path" in values:
        try:
            member.path = values["path"].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _pax_error("`path` is not UTF-8") from exc
    if "size" in values:
        if not _SIZE.match(values["size"]):
            raise _pax_error("`size` is not a decimal number of at most 20 digits")
        member.size = int(values["size"])
    if "mtime" in values:
        if not _MTIME.match(values["mtime"]):
            raise _pax_error("`mtime` is not a non-negative decimal number")
        member.mtime = float(values["mtime"])
    member.pax_headers = {k: v.decode("utf-8", "replace") for k, v in values.items()}


def _pax_error(problem: str) -> ArchiveError:
    return ArchiveError(f"pax header check failed: {problem}")
