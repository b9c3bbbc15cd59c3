"""Registry test tools (oras, crane) built from their Go modules, each under its own cache key.

The control-plane set (`build.ensure_binaries`) is keyed by every pin it contains and takes tens
of minutes to build; these clients are keyed separately (`tools/<name>-<version>-<go>/`), so
adding or bumping one never invalidates the control plane, nor the other tool. Same discipline
as the control-plane build: an exclusive lock per key, a private staging directory, one atomic
`rename`, a stamp written last.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from devcluster import versions
from devcluster.build import STAMP, go_version, locked, run_go
from devcluster.errors import BuildError, ToolchainError


@dataclass(frozen=True)
class Tool:
    """One client command built unchanged from an upstream module."""

    name: str
    version: str
    package: str
    version_flag: str  # ldflags stamping the version, so `NAME version` reports the pin


TOOLS = {
    "oras": Tool(
        "oras",
        versions.ORAS,
        "oras.land/oras/cmd/oras",
        "",  # the module's source already says its release version
    ),
    "crane": Tool(
        "crane",
        versions.CRANE,
        "github.com/google/go-containerregistry/cmd/crane",
        f"-X github.com/google/go-containerregistry/cmd/crane/cmd.Version={versions.CRANE}",
    ),
}


def tool_key(tool: Tool, go: str) -> str:
    """The cache key of one tool: its own pin and the Go toolchain, nothing else."""
    return f"{tool.name}-{tool.version}-{go}"


def _final(tool: Tool, go: str) -> Path:
    return versions.cache_root() / "tools" / tool_key(tool, go)


def find_tool(name: str) -> Path | None:
    """The built binary of tool `name` for the current pins, or None when not built yet."""
    final = _final(TOOLS[name], go_version())
    return final / name if (final / STAMP).exists() else None


def ensure_tool(name: str, console: Console | None = None) -> Path:
    """Return the cached binary of tool `name`, building it first when missing."""
    console = console or Console(stderr=True)
    if name not in TOOLS:
        raise ToolchainError(f"unknown test tool '{name}' (known: {', '.join(TOOLS)})")
    tool, go = TOOLS[name], go_version()
    final = _final(tool, go)
    if not (final / STAMP).exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        with locked(final.parent / f".{final.name}.lock", console):
            if not (final / STAMP).exists():
                _build(tool, final, go, console)
    return final / name


def _build(tool: Tool, final: Path, go: str, console: Console) -> None:
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.staging-"))
    wrapper = versions.WRAPPERS / tool.name
    started = time.monotonic()
    try:
        with console.status(f"building {tool.name} {tool.version} (first run only)"):
            run_go(["go", "mod", "download"], wrapper, "go mod download")
            argv = ["go", "build", "-trimpath", "-ldflags", f"-s -w {tool.version_flag}"]
            run_go([*argv, "-o", str(staging / tool.name), tool.package], wrapper, "go build")
        out = run_go([str(staging / tool.name), "version"], staging, f"{tool.name} version")
        if tool.version.lstrip("v") not in out:
            raise BuildError(f"{tool.name} reports '{out.strip()[:120]}', expected {tool.version}")
        (staging / STAMP).write_text(tool_key(tool, go) + "\n")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    console.print(f"  built {tool.name} in {time.monotonic() - started:.0f} s, cached in {final}")
