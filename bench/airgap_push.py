"""Benchmark: `outpost airgap push-layout` vs `skopeo copy --all` into fresh docker-registries.

Builds one synthetic OCI layout (a ≥ 256 MiB layer plus smaller ones, one multi-arch image),
then per round, side by side, each into its own fresh registry:
  1. our CLI in a subprocess (interpreter start + verify every blob + push): wall time, MB/s,
     CPU seconds and peak RSS (`wait4` rusage; target ≤ 64 MB whatever the blob size);
  2. `skopeo copy --all oci:<dir>:<ref> docker://…`, once per image (wall, CPU);
  3. our push phase alone, in-process (plan + apply after the layout was verified);
  4. our CLI again into registry 1: bytes sent (target 0).
Rounds alternate who goes first; medians are reported (the machine may be shared).

Usage: .venv/bin/python bench/airgap_push.py [--big-mib 256] [--rounds 3]
Needs /usr/bin/docker-registry and skopeo (apt-get install docker-registry skopeo).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airgap.layout import read_layout  # noqa: E402
from airgap.push import apply_push, plan_push  # noqa: E402
from airgap.registry import open_client  # noqa: E402
from airgap.synthetic import ImageSpec, write_layout  # noqa: E402
from tests.registry.conftest import RegistryServer  # noqa: E402

MIB = 1024 * 1024
# The child reports its own VmHWM: a forked child's rusage maxrss inherits the parent's peak.
CHILD = (
    "import atexit, sys; atexit.register(lambda: open(sys.argv[1], 'w').write("
    "open('/proc/self/status').read())); from airgap.cli import airgap; "
    "airgap.main(sys.argv[2:], prog_name='outpost')"
)


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    maxrss_kib: int
    stdout: bytes


@dataclass
class Figures:
    ours: list[Run] = field(default_factory=list)
    skopeo: list[Run] = field(default_factory=list)
    phase: list[float] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


def spawn(argv: list[str]) -> Run:
    """Run a command; wall time, user+sys CPU and peak RSS of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed (exit {proc.returncode})")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(time.perf_counter() - start, cpu, usage.ru_maxrss, out)


def build_layout(root: Path, big_mib: int) -> tuple[list[str], int]:
    specs = [
        ImageSpec(
            "registry.acme.dev/acme/db:1.0",
            layer_sizes=(big_mib * MIB, 24 * MIB, 4 * MIB),
            platforms=("linux/amd64",),
        ),
        ImageSpec("registry.acme.dev/acme/api:2.14.0", layer_sizes=(8 * MIB, 2 * MIB)),
    ]
    write_layout(root, specs, seed=42)
    total = sum(p.stat().st_size for p in (root / "blobs" / "sha256").iterdir())
    return [s.ref for s in specs], total


def run_ours(layout: Path, server: RegistryServer, journal: Path) -> Run:
    status = journal.with_suffix(".status")
    run = spawn(
        [
            sys.executable,
            "-c",
            CHILD,
            str(status),
            "push-layout",
            str(layout),
            "--registry",
            f"{server.netloc}/bench",
            "--insecure-http",
            "--journal",
            str(journal),
            "--output",
            "json",
        ]
    )
    return Run(run.seconds, run.cpu, vm_hwm_kib(status), run.stdout)


def vm_hwm_kib(status: Path) -> int:
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])


def run_skopeo(layout: Path, refs: list[str], server: RegistryServer) -> Run:
    runs = [
        spawn(
            [
                "skopeo",
                "copy",
                "--all",
                "--quiet",
                "--dest-tls-verify=false",
                f"oci:{layout}:{ref}",
                f"docker://{server.netloc}/bench/{ref.split('/', 1)[1]}",
            ]
        )
        for ref in refs
    ]
    return Run(
        sum(r.seconds for r in runs), sum(r.cpu for r in runs), max(r.maxrss_kib for r in runs), b""
    )


def run_phase(layout: Path, server: RegistryServer) -> float:
    graph = read_layout(layout)
    client = open_client(f"{server.netloc}/bench", insecure_http=True)
    start = time.perf_counter()
    apply_push(plan_push(graph, client), client)
    client.close()
    return time.perf_counter() - start


def one_round(work: Path, refs: list[str], figures: Figures, index: int) -> None:
    servers = [RegistryServer(work / f"reg-{index}-{name}") for name in ("ours", "sk", "phase")]
    for server in servers:
        server.start()
    try:
        layout, journal = work / "layout", work / f"journal-{index}.json"
        if index % 2:
            figures.skopeo.append(run_skopeo(layout, refs, servers[1]))
        figures.ours.append(run_ours(layout, servers[0], journal))
        if not index % 2:
            figures.skopeo.append(run_skopeo(layout, refs, servers[1]))
        figures.phase.append(run_phase(layout, servers[2]))
        figures.resent.append(json.loads(run_ours(layout, servers[0], journal).stdout)["bytesSent"])
    finally:
        for server in servers:
            server.stop()
            shutil.rmtree(server.workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("skopeo") or not Path("/usr/bin/docker-registry").exists():
        raise SystemExit("needs docker-registry and skopeo: apt-get install docker-registry skopeo")
    work = Path(tempfile.mkdtemp(prefix="airgap-bench-"))
    try:
        refs, total = build_layout(work / "layout", args.big_mib)
        figures = Figures()
        for index in range(args.rounds):
            one_round(work, refs, figures, index)
        report(total, figures, args.big_mib)
    finally:
        shutil.rmtree(work)


def report(total: int, figures: Figures, big_mib: int) -> None:
    mb = total / 1e6
    ours = statistics.median(r.seconds for r in figures.ours)
    theirs = statistics.median(r.seconds for r in figures.skopeo)
    phase = statistics.median(figures.phase)
    print(
        f"layout: {mb:.1f} MB of blobs, largest layer {big_mib} MiB; "
        f"{len(figures.ours)} rounds, medians; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"ours CLI end-to-end : {ours:6.2f} s {mb / ours:7.1f} MB/s  CPU "
        f"{statistics.median(r.cpu for r in figures.ours):.2f} s  (start + verify + push)"
    )
    print(
        f"skopeo copy --all   : {theirs:6.2f} s {mb / theirs:7.1f} MB/s  CPU "
        f"{statistics.median(r.cpu for r in figures.skopeo):.2f} s"
    )
    print(
        f"ours push phase     : {phase:6.2f} s {mb / phase:7.1f} MB/s  (in-process, after verify)"
    )
    print(
        f"ratio ours/skopeo MB/s: end-to-end {theirs / ours:.2f}x, push phase "
        f"{theirs / phase:.2f}x (target >= 1.0)"
    )
    print(f"re-push bytes sent: {max(figures.resent)} (target 0)")
    rss = max(r.maxrss_kib for r in figures.ours) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status"
        spawn([sys.executable, "-c", CHILD, str(status), "--help"])
        baseline = vm_hwm_kib(status) / 1024
    print(
        f"peak RSS (VmHWM) of our push: {rss:.1f} MiB (target <= 64); "
        f"interpreter + imports alone: {baseline:.1f} MiB"
    )


if __name__ == "__main__":
    main()
