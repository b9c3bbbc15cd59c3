"""`make demo`: the whole story on one machine, with a real control plane on loopback.

Steps print as they run; each one uses the same commands a user would. The cluster stays up
afterwards so you can look around (`eval "$(outpost dev env)"`); `make demo-down` stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from devcluster import cluster

ROOT = Path(__file__).resolve().parents[1]
console = Console()


def step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    console.print(f"[dim]$ {' '.join(argv)}[/]")
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        console.print(proc.stdout + proc.stderr)
        raise SystemExit(f"demo step failed: {' '.join(argv)}")
    console.print(proc.stdout.rstrip())
    return proc.stdout


def main() -> None:
    step("1. A real control plane on loopback (etcd, apiserver, kcm, scheduler, kwok)")
    state = cluster.up(cluster.default_state_dir(), Console(stderr=True))
    env = {**os.environ, **state.env()}
    run("kubectl", "version", env=env)
    run("kubectl", "get", "nodes", "-o", "wide", env=env)
    step("Done")
    console.print('Explore it:  eval "$(.venv/bin/outpost dev env)"; kubectl get nodes')
    console.print("Stop it:     make demo-down")


if __name__ == "__main__":
    sys.exit(main())
