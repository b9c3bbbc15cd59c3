"""The one rule for names inside a bundle, shared by the manifest check and the tar reader.

Pure. A name is ASCII `[A-Za-z0-9._/-]`, relative, already normalized (no `.`/`..`/empty
components, no trailing slash), ≤ 255 bytes per component and ≤ 1024 bytes in all. Anything else
is refused before it can reach the filesystem.
"""

from __future__ import annotations

import posixpath
import re

MAX_PATH = 1024
MAX_COMPONENT = 255
_ALLOWED = re.compile(r"^[A-Za-z0-9._/-]+$")


def path_problem(path: str) -> str | None:
    """Return why `path` is not an acceptable bundle name, or None when it is."""
    if not path:
        return "empty name"
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH:
        return f"name longer than {MAX_PATH} bytes"
    if not _ALLOWED.match(path):
        return "name has characters outside [A-Za-z0-9._/-]"
    if path.startswith("/"):
        return "absolute name"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "name has an empty, '.' or '..' component"
    if any(len(part) > MAX_COMPONENT for part in parts):
        return f"name has a component longer than {MAX_COMPONENT} bytes"
    if posixpath.normpath(path) != path:
        return "name is not normalized"
    return None


def parent_dirs(path: str) -> list[str]:
    """The directories above `path`, shallowest first ('a/b/c' -> ['a', 'a/b'])."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
