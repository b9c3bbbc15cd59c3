"""The strict streaming reader of a bundle tar.

I/O: reads one open file front to back with `tarfile` in stream mode ("r|"), never seeks back,
never calls extract()/extractall() (their link handling has had a string of bypasses, see the
supply-chain notes §6). Members must come in the fixed order keyring chain, manifest, content in
manifest order; only regular files (and directories above listed files) are accepted; each
file's size and sha256 are checked while it streams, into a `Staging` directory or nowhere.
After the last member the rest of the file must be the end-of-archive zeros and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from bundle.errors import ArchiveError
from bundle.manifest import FileEntry, Manifest
from bundle.ocigraph import OciGraph
from bundle.paths import parent_dirs, path_problem
from bundle.staging import Staging, write_all
from bundle.tarheaders import StrictTarInfo

CHUNK = 1024 * 1024
MANIFEST_NAME = "manifest.dsse.json"
KEYRING_NAME = re.compile(r"^keyring/(\d{8})\.dsse\.json$")
MAX_KEYRING_BYTES = 64 * 1024  # one keyring envelope; real ones are a few KiB
MAX_CHAIN_BYTES = 4 * 1024 * 1024  # all keyring envelopes together, held in memory
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_CHAIN = 1024
# tarfile pads the archive to a 10 KiB record after the two zero end blocks.
END_MIN = 2 * tarfile.BLOCKSIZE
END_MAX = END_MIN + tarfile.RECORDSIZE
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)

Progress = Callable[[int], None]
# What tarfile raises on input it cannot parse, besides TarError (found by the fuzz tests).
_PARSE_ERRORS = (tarfile.TarError, ValueError, OverflowError, RecursionError, EOFError)


@dataclass(frozen=True)
class Head:
    """The unverified front of a bundle: keyring envelopes and the manifest envelope."""

    chain: tuple[bytes, ...]
    manifest: bytes


class ArchiveReader:
    """Reads one bundle; `read_head`, then `read_content`, then `finish`, in that order."""

    def __init__(self, fileobj: BinaryIO, progress: Progress | None = None) -> None:
        self.fileobj = fileobj
        self.progress = progress or (lambda _n: None)
        try:
            # The reader lives across three calls; the caller owns and closes `fileobj`.
            self.tar = tarfile.open(  # noqa: SIM115
                fileobj=fileobj, mode="r|", bufsize=CHUNK, tarinfo=StrictTarInfo
            )
        except _PARSE_ERRORS as exc:
            raise ArchiveError(f"archive check failed: not an uncompressed tar ({exc})") from exc
        self.members = self._iterate()
        self.pending: tarfile.TarInfo | None = None
        self.seen: set[str] = set()

    def _iterate(self) -> Iterator[tarfile.TarInfo]:
        try:
            while (member := self.tar.next()) is not None:
                yield member
        except _PARSE_ERRORS as exc:
            raise ArchiveError(f"archive check failed: truncated or corrupt tar ({exc})") from exc

    def _next(self) -> tarfile.TarInfo | None:
        member, self.pending = self.pending, None
        return member if member is not None else next(self.members, None)

    def read_head(self) -> Head:
        """The keyring chain and the signed manifest: the members every bundle starts with."""
        chain = self._read_chain()
        member = self._next()
        if member is None or member.name != MANIFEST_NAME:
            found = "end of archive" if member is None else f"'{member.name}'"
            raise ArchiveError(
                f"member order check failed: expected '{MANIFEST_NAME}', got {found}"
            )
        return Head(tuple(chain), self._read_small(member, MAX_MANIFEST_BYTES))

    def _read_chain(self) -> list[bytes]:
        chain: list[bytes] = []
        numbers: list[int] = []
        total = 0
        while (member := self._next()) is not None:
            if member.type == tarfile.DIRTYPE and member.name == "keyring" and not chain:
                continue
            match = KEYRING_NAME.match(member.name)
            if match is None:
                self.pending = member
                break
            numbers.append(int(match.group(1)))
            if len(numbers) > 1 and numbers[-1] != numbers[-2] + 1:
                raise ArchiveError(f"member order check failed: '{member.name}' is out of sequence")
            if len(chain) >= MAX_CHAIN:
                raise ArchiveError(f"archive check failed: more than {MAX_CHAIN} keyring members")
            total += member.size
            if total > MAX_CHAIN_BYTES:
                raise ArchiveError(
                    f"size check failed: keyring members over {MAX_CHAIN_BYTES} bytes"
                )
            chain.append(self._read_small(member, MAX_KEYRING_BYTES))
        if not chain:
            raise ArchiveError("member order check failed: the bundle must start with keyring/")
        return chain

    def _read_small(self, member: tarfile.TarInfo, limit: int) -> bytes:
        _check_type(member)
        if member.size > limit:
            raise ArchiveError(f"size check failed: '{member.name}' is over {limit} bytes")
        data = _read(self._open(member), member.name, member.size)
        if len(data) != member.size:
            raise ArchiveError(f"archive check failed: '{member.name}' is truncated")
        self.progress(member.size)
        return data

    def _open(self, member: tarfile.TarInfo) -> IO[bytes]:
        stream = self.tar.extractfile(member)
        if stream is None:
            raise ArchiveError(f"member type check failed: '{member.name}' is not a regular file")
        return stream

    def read_content(self, manifest: Manifest, staging: Staging | None, graph: OciGraph) -> None:
        """Stream every carried member, in manifest order, checking size and sha256.

        A delta's files left to its base are not in the tar: the OCI graph still checks where
        they belong (`OciGraph.accept_from_base`), their bytes are checked against the base.
        """
        dirs = {d for f in manifest.carried for d in parent_dirs(f.path)}
        listed = {f.path for f in manifest.carried}
        for entry in manifest.files:
            if entry.in_base:
                graph.accept_from_base(entry)
                continue
            member = self._next_file(dirs, listed, entry)
            if member.size != entry.size:
                raise ArchiveError(
                    f"size check failed: '{member.name}' is {member.size} bytes in the tar,"
                    f" the manifest says {entry.size}"
                )
            data = self._stream(member, entry, staging, graph.wants_bytes(entry))
            graph.accept(entry, data)
        graph.finish()

    def _next_file(self, dirs: set[str], listed: set[str], entry: FileEntry) -> tarfile.TarInfo:
        while True:
            member = self._next()
            if member is None:
                raise ArchiveError(
                    f"archive check failed: truncated, '{entry.path}' and later files are missing"
                )
            _check_name(member.name)
            if member.type == tarfile.DIRTYPE and member.name in dirs:
                dirs.discard(member.name)  # each directory at most once
                continue
            _check_type(member)
            if member.name == entry.path:
                self.seen.add(member.name)
                return member
            raise _order_error(member.name, entry.path, listed, self.seen)

    def _stream(
        self, member: tarfile.TarInfo, entry: FileEntry, staging: Staging | None, keep: bool
    ) -> bytes | None:
        fd = staging.open_file(entry.path) if staging is not None else None
        digest, kept, count = hashlib.sha256(), bytearray(), 0
        stream = self._open(member)
        try:
            while chunk := _read(stream, entry.path):
                count += len(chunk)
                digest.update(chunk)
                if fd is not None:
                    write_all(fd, chunk)
                if keep:
                    kept += chunk
                self.progress(len(chunk))
        finally:
            if fd is not None:
                _close(fd)
        _check_digest(entry, count, digest.hexdigest())
        return bytes(kept) if keep else None

    def finish(self) -> None:
        """Nothing after the last listed file but the end-of-archive zeros."""
        member = self._next()
        if member is not None:
            raise _order_error(member.name, "end of archive", self.seen, self.seen)
        self.fileobj.seek(self.tar.offset)
        tail = self.fileobj.read(END_MAX + 1)
        if len(tail) < END_MIN:
            raise ArchiveError(
                "archive check failed: truncated, the end-of-archive marker is missing"
            )
        if len(tail) > END_MAX or tail.count(0) != len(tail):
            raise ArchiveError("trailing data check failed: bytes follow the end of the archive")


def _read(stream: IO[bytes], path: str, size: int = CHUNK) -> bytes:
    try:
        return stream.read(size)
    except _PARSE_ERRORS as exc:
        raise ArchiveError(f"archive check failed: '{path}' is truncated ({exc})") from exc


def _close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_digest(entry: FileEntry, count: int, actual: str) -> None:
    if count != entry.size:
        raise ArchiveError(f"size check failed: '{entry.path}' ended after {count} bytes")
    if actual != entry.sha256:
        raise ArchiveError(
            f"digest check failed: '{entry.path}' has sha256 {actual}, the manifest says"
            f" {entry.sha256}"
        )


def _check_name(name: str) -> None:
    problem = path_problem(name)
    if problem is not None:
        raise ArchiveError(f"path check failed: member '{name[:200]}': {problem}")


def _check_type(member: tarfile.TarInfo) -> None:
    if member.type not in _FILE_TYPES or member.issparse():
        kind = _kind(member)
        raise ArchiveError(f"member type check failed: '{member.name[:200]}' is a {kind}")


def _kind(member: tarfile.TarInfo) -> str:
    kinds = [
        (member.issym(), "symlink"),
        (member.islnk(), "hardlink"),
        (member.isdev(), "device or FIFO"),
        (member.isdir(), "directory not above any listed file"),
        (member.issparse(), "sparse file"),
    ]
    return next((name for hit, name in kinds if hit), f"member of type {member.type!r}")


def _order_error(name: str, expected: str, listed: set[str], seen: set[str]) -> ArchiveError:
    if name in seen:
        return ArchiveError(f"duplicate member check failed: '{name}' occurs twice")
    if name not in listed:
        return ArchiveError(f"unlisted member check failed: '{name}' is not in the manifest")
    return ArchiveError(f"member order check failed: '{name}' came where '{expected}' was expected")
