"""Demo steps: an air-gapped import into a private registry, then Pods pulling from it by digest.

`prepare` is the vendor's side: synthetic multi-arch images and a signed sample bundle (throwaway
trust root `sample/trust-root.json`). `import_and_show` is the customer's: a local docker-registry
on 127.0.0.1 (left running; `make demo-down` stops it), `outpost airgap import … --insecure-http`
(loopback only) as a dry run, for real and again (0 bytes), then the webapp Pods, which must
reference `<registry>/…@sha256:…`. The agent must already run with that trust root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from airgap.localregistry import RegistryServer, registry_binary
from airgap.synthetic import ImageSpec, write_layout
from devcluster.processes import Proc

OUTPOST = str(Path(sys.executable).parent / "outpost")
IMAGES = (
    ImageSpec("registry.acme.example/acme/webapp:1.4.2", layer_sizes=(4096, 3 * 1024 * 1024)),
    ImageSpec("registry.acme.example/acme/report-api:2.0.1", layer_sizes=(4096, 1024 * 1024)),
)
WAIT_SECONDS = 180.0


@dataclass(frozen=True)
class Sample:
    bundle: Path
    trust: Path


def prepare(console: Console, env: dict[str, str], workdir: Path, sequence: int = 1) -> Sample:
    """The vendor's side: synthetic multi-arch images and a signed sample bundle carrying them."""
    oci = workdir / "oci"
    write_layout(oci, IMAGES, seed=1)
    bundle, trust = _sample(console, env, workdir / "sample", oci, sequence)
    return Sample(bundle, trust)


def import_and_show(
    console: Console, env: dict[str, str], workdir: Path, sample: Sample, *, namespace: str
) -> None:
    """Registry up, the bundle imported (dry run, real, again), webapp Pods checked."""
    registry = RegistryServer(workdir / "registry")
    registry.start()
    remember(
        workdir, Proc("docker-registry", _pid(registry), registry_binary() or "", str(registry.log))
    )
    console.print(f"docker-registry on http://{registry.netloc} (pid {_pid(registry)})")
    target = f"{registry.netloc}/mirror"
    argv = [OUTPOST, "airgap", "import", str(sample.bundle), "--trust", str(sample.trust),
            "--registry", target, "--insecure-http", "--namespace", namespace]  # fmt: skip
    _show(console, env, *argv, "--dry-run")
    _show(console, env, *argv)
    console.print("second import (idempotent: 0 bytes, nothing new):")
    _show(console, env, *argv)
    images = _wait_for_pods(env, "web", target)
    console.print(f"webapp Pods in namespace 'web' pull from {target}:")
    for image in images:
        console.print(f"  {image}")


def remember(workdir: Path, proc: Proc) -> None:
    """Record a background process so `make demo-down` stops it."""
    record = workdir / "demo-procs.json"
    procs = json.loads(record.read_text()) if record.exists() else []
    procs.append(proc.__dict__)
    record.write_text(json.dumps(procs))


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


def sample_main(argv: list[str]) -> None:
    """`make sample-bundle`: the demo's sample, images inside, into OUTDIR; no cluster needed."""
    if len(argv) != 1:
        raise SystemExit("usage: python -m examples.demo_airgap OUTDIR")
    workdir = Path(argv[0])
    workdir.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    sample = prepare(console, dict(os.environ), workdir)
    print(sample.bundle)
    print(sample.trust)


if __name__ == "__main__":
    sample_main(sys.argv[1:])
