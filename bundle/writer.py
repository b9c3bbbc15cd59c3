"""The bundle tar writer: one uncompressed pax tar in the fixed member order.

I/O: reads content files and writes `<out>.part`, renamed to `<out>` only when complete, so a
failed build leaves no half bundle. Order: `keyring/NNNNNNNN.dsse.json` ascending, then
`manifest.dsse.json`, then content in manifest order. Members are normalized (mode 0644, owner
0, mtime 0) so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bundle.errors import BundleError
from bundle.manifest import FileEntry

CHUNK = 1024 * 1024
MANIFEST_NAME = "manifest.dsse.json"


@dataclass(frozen=True)
class Content:
    """One content file to be written: its bundle path, and bytes or a source file."""

    path: str
    size: int
    sha256: str
    data: bytes | None = None
    source: Path | None = None

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> Content:
        """Content held in memory."""
        return cls(path, len(data), hashlib.sha256(data).hexdigest(), data=data)

    @classmethod
    def from_file(cls, path: str, source: Path) -> Content:
        """Content read from a file, hashed as it is read."""
        try:
            with source.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256")
            size = source.stat().st_size
        except OSError as exc:
            raise BundleError(f"cannot read '{source}' for '{path}': {exc}") from exc
        return cls(path, size, digest.hexdigest(), source=source)

    def entry(self) -> FileEntry:
        """The manifest entry of this content."""
        return FileEntry(self.path, self.size, self.sha256)


def keyring_member(version: int) -> str:
    """The archive member name of keyring version `version`."""
    return f"keyring/{version:08d}.dsse.json"


def write_bundle(
    out: Path,
    chain: Sequence[tuple[int, bytes]],
    manifest_envelope: bytes,
    contents: Sequence[Content],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the bundle to `out` atomically; `chain` is (version, envelope bytes), ascending."""
    part = out.with_name(out.name + ".part")
    try:
        with part.open("xb") as f, _open_tar(f) as tar:
            for version, envelope in chain:
                _add(tar, keyring_member(version), len(envelope), io.BytesIO(envelope))
            _add(tar, MANIFEST_NAME, len(manifest_envelope), io.BytesIO(manifest_envelope))
            for item in contents:
                _add_content(tar, item)
                if progress is not None:
                    progress(item.size)
        os.replace(part, out)
    except FileExistsError as exc:
        raise BundleError(f"'{part}' exists: another build is running, or remove it") from exc
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise BundleError(f"cannot write bundle '{out}': {exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _open_tar(fileobj: io.BufferedWriter) -> tarfile.TarFile:
    return tarfile.TarFile(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK)


def _add_content(tar: tarfile.TarFile, item: Content) -> None:
    if item.data is not None:
        _add(tar, item.path, item.size, io.BytesIO(item.data))
        return
    assert item.source is not None
    with item.source.open("rb") as f:
        if os.fstat(f.fileno()).st_size != item.size:
            raise BundleError(f"'{item.source}' changed size while the bundle was being built")
        _add(tar, item.path, item.size, f)


def _add(tar: tarfile.TarFile, name: str, size: int, fileobj: IO[bytes]) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, fileobj)
