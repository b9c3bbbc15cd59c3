"""Demo step: an air-gapped import into a private registry, then Pods pulling from it by digest.

`run(console, env, workdir)` starts a local docker-registry on 127.0.0.1 (left running so you can
look around; its PID is printed), builds the sample bundle with synthetic multi-arch images for
the sample apps, imports it with `outpost airgap import … --insecure-http` (loopback only), and
waits until the webapp Pods reference `<registry>/…@sha256:…`. It expects the agent to be
running already with `OUTPOST_TRUST_ROOT=<sample_dir>/trust-root.json` (the sample's throwaway
trust root; `sample_dir` defaults to `workdir/sample`) and `env` to hold KUBECONFIG and a PATH
with kubectl.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from airgap.localregistry import RegistryServer
from airgap.synthetic import ImageSpec, write_layout

OUTPOST = str(Path(sys.executable).parent / "outpost")
IMAGES = (
    ImageSpec("registry.acme.example/acme/webapp:1.4.2", layer_sizes=(4096, 3 * 1024 * 1024)),
    ImageSpec("registry.acme.example/acme/report-api:2.0.1", layer_sizes=(4096, 1024 * 1024)),
)
WAIT_SECONDS = 180.0


def run(
    console: Console,
    env: dict[str, str],
    workdir: Path,
    *,
    sample_dir: Path | None = None,
    sequence: int = 2,
    namespace: str = "outpost-system",
) -> None:
    """Registry up, sample bundle with images built, imported, webapp Pods checked."""
    sample_dir = sample_dir or workdir / "sample"
    registry = RegistryServer(workdir / "registry")
    registry.start()
    console.print(f"docker-registry on http://{registry.netloc} (pid {_pid(registry)})")
    oci = workdir / "oci"
    write_layout(oci, IMAGES, seed=1)
    bundle, trust = _sample(console, env, sample_dir, oci, sequence)
    target = f"{registry.netloc}/mirror"
    argv = [OUTPOST, "airgap", "import", str(bundle), "--trust", str(trust), "--registry", target,
            "--insecure-http", "--namespace", namespace]  # fmt: skip
    _show(console, env, *argv, "--dry-run")
    _show(console, env, *argv)
    console.print("second import (idempotent: 0 bytes, nothing new):")
    _show(console, env, *argv)
    images = _wait_for_pods(env, "web", target)
    console.print(f"webapp Pods in namespace 'web' pull from {target}:")
    for image in images:
        console.print(f"  {image}")


def _pid(registry: RegistryServer) -> int:
    return registry.proc.pid if registry.proc else 0


def _sample(
    console: Console, env: dict[str, str], sample_dir: Path, oci: Path, sequence: int
) -> tuple[Path, Path]:
    argv = [sys.executable, "-m", "bundle.sample", str(sample_dir), "--images", str(oci),
            "--sequence", str(sequence), "--version", f"0.{sequence}.0"]  # fmt: skip
    out = _show(console, env, *argv).split()
    return Path(out[0]), Path(out[1])


def _show(console: Console, env: dict[str, str], *argv: str) -> str:
    console.print(f"[dim]$ {' '.join(Path(a).name if a == argv[0] else a for a in argv)}[/]")
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        console.print(proc.stdout + proc.stderr)
        raise SystemExit(f"demo step failed: {' '.join(argv)}")
    console.print(proc.stdout.rstrip())
    return proc.stdout


def _wait_for_pods(env: dict[str, str], namespace: str, target: str) -> list[str]:
    """Container images of the namespace's Pods, once all reference `target` by digest."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        images = _images(env, namespace)
        if images and all(i.startswith(f"{target}/") and "@sha256:" in i for i in images):
            return images
        time.sleep(1.0)
    raise SystemExit(f"webapp Pods did not reference {target} within {WAIT_SECONDS:.0f} s")


def _images(env: dict[str, str], namespace: str) -> list[str]:
    argv = ["kubectl", "get", "pods", "-n", namespace, "-o", "json"]
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        return []
    pods = json.loads(proc.stdout).get("items", [])
    return [c["image"] for p in pods for c in p["spec"]["containers"]]
