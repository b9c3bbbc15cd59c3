"""Build the control-plane binaries from Go modules into a version-keyed cache.

I/O module: runs `go`. Concurrency-safe: builders take an exclusive file lock per version key,
build into a private staging directory and publish it with one atomic `rename`, so a reader
either sees a complete set or none, and two builds at once never corrupt the cache.
"""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from devcluster import versions
from devcluster.errors import BuildError, ToolchainError

STAMP = "complete.stamp"
GO_ENV = {"GOTOOLCHAIN": "local", "GOWORK": "off", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


@dataclass(frozen=True)
class BinDir:
    """A complete, published set of binaries."""

    path: Path

    def __getitem__(self, name: str) -> Path:
        return self.path / name

    @property
    def kwok_stages(self) -> Path:
        """The kwok stages file that makes Pods Running and Ready without containers."""
        return self.path / "kwok-stages.yaml"


def go_env() -> dict[str, str]:
    """The environment of every go command: the local toolchain, no workspace, static builds."""
    return {**os.environ, **GO_ENV}


def go_version() -> str:
    """The local Go toolchain's version, or a ToolchainError that says what is needed."""
    if shutil.which("go") is None:
        raise ToolchainError(
            "the Go toolchain ('go') is not on PATH: the local control plane is built from Go "
            "modules; install Go 1.26 or newer with access to a Go module proxy"
        )
    out = run_go(["go", "env", "GOVERSION"], Path.cwd(), "go env")
    return out.strip()


def find_binaries() -> BinDir | None:
    """The published binary set for the current pins, if it was built already."""
    final = versions.cache_root() / "bin" / versions.version_key(go_version())
    return BinDir(final) if (final / STAMP).exists() else None


def ensure_binaries(console: Console | None = None) -> BinDir:
    """Return the cached binaries, building them first when missing."""
    console = console or Console(stderr=True)
    key = versions.version_key(go_version())
    bins = versions.cache_root() / "bin"
    final = bins / key
    if (final / STAMP).exists():
        return BinDir(final)
    bins.mkdir(parents=True, exist_ok=True)
    with locked(bins / f".{key}.lock", console):
        if not (final / STAMP).exists():
            _build_all(final, console)
    return BinDir(final)


@contextmanager
def locked(path: Path, console: Console) -> Iterator[None]:
    """Hold the build lock for one version key; wait, and say so, when another build holds it."""
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print("[yellow]another build of these binaries is running; waiting for it[/]")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_all(final: Path, console: Console) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.staging-"))
    try:
        _download_modules(console)
        for target in versions.TARGETS:
            _build_target(target, staging, console)
        _write_kwok_stages(staging / "kwok-stages.yaml")
        _smoke_check(staging)
        (staging / STAMP).write_text(versions.version_key(go_version()) + "\n")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _report(final, time.monotonic() - started, console)


def _download_modules(console: Console) -> None:
    with console.status("downloading Go modules (module proxy)"):
        for target in versions.TARGETS:
            try:
                run_go(
                    ["go", "mod", "download"], versions.WRAPPERS / target.wrapper, "go mod download"
                )
            except BuildError as exc:
                raise ToolchainError(
                    f"could not download Go modules for '{target.wrapper}': is the Go module "
                    f"proxy reachable (GOPROXY)? The local control plane needs it once.\n{exc}"
                ) from exc


def _build_target(target: versions.Target, staging: Path, console: Console) -> None:
    out = f"{staging}/" if len(target.outputs) > 1 else str(staging / target.outputs[0])
    argv = ["go", "build", "-trimpath", "-ldflags", f"-s -w {target.ldflags}".strip(), "-o", out]
    started = time.monotonic()
    with console.status(f"building {', '.join(target.outputs)} (first run only; can take minutes)"):
        run_go([*argv, *target.packages], versions.WRAPPERS / target.wrapper, "go build")
    console.print(f"  built {', '.join(target.outputs)} in {time.monotonic() - started:.0f} s")


def _write_kwok_stages(dest: Path) -> None:
    out = run_go(
        ["go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"],
        versions.WRAPPERS / "kwok",
        "go list",
    )
    stage_root = Path(out.strip()) / "kustomize" / "stage"
    docs = [(stage_root / rel).read_text().strip() for rel in KWOK_STAGES]
    dest.write_text("\n---\n".join(docs) + "\n")


def _smoke_check(staging: Path) -> None:
    expected = {
        "kube-apiserver": versions.KUBERNETES,
        "etcd": versions.ETCD.lstrip("v"),
        "helm": versions.HELM4,
        "helm3": versions.HELM3,
    }
    for name, want in expected.items():
        argv = [str(staging / name), "version" if name.startswith("helm") else "--version"]
        got = run_go(argv, staging, f"{name} --version")
        if want not in got:
            raise BuildError(f"{name} reports '{got.strip()[:120]}', expected {want}")


def _report(final: Path, seconds: float, console: Console) -> None:
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    console.print(
        f"[green]built the control plane in {seconds / 60:.1f} min[/], "
        f"peak memory of one build step {peak_mib:.0f} MiB, cached in {final}"
    )
    for path in sorted(final.iterdir()):
        if path.is_file() and os.access(path, os.X_OK):
            console.print(f"  {path.name:<24} {path.stat().st_size / 1e6:6.1f} MB")


def run_go(argv: list[str], cwd: Path, what: str) -> str:
    """Run a go command; raise ComponentError with its last lines when it fails."""
    proc = subprocess.run(argv, cwd=cwd, env=go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BuildError(f"{what} failed in {cwd.name} (exit {proc.returncode}):\n{tail}")
    return proc.stdout + proc.stderr
