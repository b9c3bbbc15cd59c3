"""Stopping and starting one component of a running local control plane, for failure tests.

A component is stopped like any process here (SIGTERM, then SIGKILL) and started again with the
very command line it ran with (read back from /proc), so its data (etcd's data directory) and
ports stay. The state file is updated with the new pid, so `outpost dev down` still stops it.
"""

from __future__ import annotations

import time
from pathlib import Path

from devcluster import processes, readiness
from devcluster.cluster import ClusterState, component_timeout, ready_checks, require
from devcluster.errors import ComponentError
from devcluster.pki import Pki


def stop_component(state_dir: Path, name: str) -> list[str]:
    """Stop component `name` (e.g. "etcd", "kube-apiserver"); returns its command line."""
    state = require(state_dir)
    proc = _find(state, name)
    try:
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError as exc:
        raise ComponentError(f"{name} is not running: {exc}") from exc
    processes.stop([proc], grace=10)
    return [a.decode() for a in argv]


def start_component(state_dir: Path, name: str, argv: list[str]) -> None:
    """Start component `name` again with `argv` and wait until it is ready."""
    state = require(state_dir)
    proc = processes.start(name, argv, Path(state.state_dir) / "logs")
    state.procs = [proc if p.name == name else p for p in state.procs]
    state.save()
    pki = Pki(Path(state.state_dir) / "pki")
    cert, key = pki.client("admin")
    with readiness.api_client(state.server, str(pki.ca_cert), (str(cert), str(key))) as admin:
        for what, check in ready_checks(name, admin, state.ports):
            readiness.wait_for(what, check, proc, component_timeout())


def restart_component(state_dir: Path, name: str, down_seconds: float = 0.0) -> None:
    """Stop `name`, leave it down for `down_seconds`, start it again."""
    argv = stop_component(state_dir, name)
    time.sleep(down_seconds)
    start_component(state_dir, name, argv)


def _find(state: ClusterState, name: str) -> processes.Proc:
    for proc in state.procs:
        if proc.name == name:
            return proc
    raise ComponentError(f"no component named {name!r} (have: {[p.name for p in state.procs]})")
