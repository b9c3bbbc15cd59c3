"""A fresh staging directory that only the strict reader writes into.

I/O. The directory must not exist yet; every parent below it is created here (0700) and opened
relative to its parent with O_NOFOLLOW, and every file is created with O_EXCL|O_NOFOLLOW, 0600,
so nothing in the archive can make a write land outside it or on top of something. Tar modes,
owners and times are never applied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from bundle.errors import ArchiveError, BundleError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class Staging:
    """Owns one staging directory from creation until it is handed over or removed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path) -> Staging:
        """Create the private staging directory (0700; refused when it exists)."""
        try:
            os.mkdir(root, 0o700)
        except FileExistsError as exc:
            raise BundleError(
                f"staging directory '{root}' already exists; give a path that does not exist yet"
            ) from exc
        except OSError as exc:
            raise BundleError(f"cannot create staging directory '{root}': {exc}") from exc
        return cls(root)

    def open_file(self, path: str) -> int:
        """Create `path` (already checked by `paths.path_problem`) and return a write fd."""
        parts = path.split("/")
        try:
            parent = self._open_parents(parts[:-1])
            try:
                return os.open(parts[-1], _FILE_FLAGS, 0o600, dir_fd=parent)
            finally:
                os.close(parent)
        except FileExistsError as exc:
            raise ArchiveError(f"duplicate member check failed: '{path}' exists already") from exc
        except OSError as exc:
            raise BundleError(f"cannot write '{path}' into staging '{self.root}': {exc}") from exc

    def _open_parents(self, dirs: list[str]) -> int:
        fd = os.open(self.root, _DIR_FLAGS)
        for name in dirs:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=fd)
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            finally:
                os.close(fd)
            fd = child
        return fd

    def remove(self) -> None:
        """Remove the staging directory and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd`, however many writes it takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
