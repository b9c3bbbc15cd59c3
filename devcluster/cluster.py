"""`outpost dev up | down | status | env`: the local control plane's lifecycle.

State lives in one directory (pki, etcd data, logs, kubeconfig, `state.json` with pids and
ports), outside any work tree. `up` is idempotent; `down` stops every process it started and
removes the directory.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from devcluster import build, pki, processes, readiness
from devcluster.commands import component_commands
from devcluster.errors import ComponentError
from devcluster.nodes import NODE_NAMES, create_nodes
from devcluster.processes import Proc

DEFAULT_TIMEOUT = 90.0


def default_state_dir() -> Path:
    """Where `outpost dev` keeps state: $OUTPOST_DEV_STATE_DIR, else $XDG_STATE_HOME/outpost/dev."""
    if os.environ.get("OUTPOST_DEV_STATE_DIR"):
        return Path(os.environ["OUTPOST_DEV_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "outpost" / "dev"


def component_timeout() -> float:
    """Seconds each component may take to become ready ($OUTPOST_DEV_TIMEOUT, default 90)."""
    return float(os.environ.get("OUTPOST_DEV_TIMEOUT", DEFAULT_TIMEOUT))


@dataclass
class ClusterState:
    state_dir: str
    bin_dir: str
    server: str
    ports: dict[str, int]
    procs: list[Proc] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig of this control plane."""
        return Path(self.state_dir) / "kubeconfig"

    def save(self) -> None:
        """Write the state to `state.json`, so `status` and `down` find the processes again."""
        (Path(self.state_dir) / "state.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> ClusterState | None:
        """The saved state, or None when there is none or it cannot be read."""
        try:
            raw = json.loads((state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return None
        raw["procs"] = [Proc(**p) for p in raw["procs"]]
        return cls(**raw)

    def env(self) -> dict[str, str]:
        """KUBECONFIG and a PATH with the cached kubectl and helm first."""
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }


def is_running(state: ClusterState) -> bool:
    """Whether every recorded process is still ours and alive."""
    return bool(state.procs) and all(processes.is_ours(p) for p in state.procs)


def up(state_dir: Path, console: Console) -> ClusterState:
    """Start the control plane unless it already runs; return its state."""
    current = ClusterState.load(state_dir)
    if current and is_running(current):
        console.print(f"the local control plane is already up ({current.server})")
        return current
    if current:
        _report_dead(current, console)
        down(state_dir, console)
    bins = build.ensure_binaries(console)
    started = time.monotonic()
    state = _fresh_state(state_dir, bins)
    try:
        _start_all(state, bins, console)
    except BaseException:
        processes.stop(state.procs, grace=5)
        (state_dir / "state.json").unlink(missing_ok=True)
        raise
    console.print(
        f"[green]control plane ready in {time.monotonic() - started:.1f} s[/] "
        f"({state.server}, nodes: {', '.join(NODE_NAMES)})"
    )
    return state


def _report_dead(state: ClusterState, console: Console) -> None:
    for proc in state.procs:
        if not processes.is_ours(proc):
            console.print(
                f"[yellow]{proc.name} is not running; last lines of its log:[/]\n"
                f"{processes.tail(proc)}"
            )
    console.print("restarting the local control plane from scratch")


def _fresh_state(state_dir: Path, bins: build.BinDir) -> ClusterState:
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True, mode=0o700)
    (state_dir / "logs").mkdir()
    names = ("etcd-client", "etcd-peer", "apiserver", "controller-manager", "scheduler")
    ports = {name: processes.free_port() for name in names}
    server = f"https://127.0.0.1:{ports['apiserver']}"
    state = ClusterState(str(state_dir), str(bins.path), server, ports)
    state.save()
    return state


def _start_all(state: ClusterState, bins: build.BinDir, console: Console) -> None:
    root = Path(state.state_dir)
    certs = pki.generate(root / "pki")
    for client in ("controller-manager", "scheduler", "kwok"):
        pki.kubeconfig(certs, client, state.server, root / f"{client}.kubeconfig")
    pki.kubeconfig(certs, "admin", state.server, state.kubeconfig)
    commands = component_commands(bins, root, certs, state.ports)
    timeout = component_timeout()
    cert, key = certs.client("admin")
    admin = readiness.api_client(state.server, str(certs.ca_cert), (str(cert), str(key)))
    with admin, console.status("starting the local control plane") as status:
        for name, argv in commands.items():
            status.update(f"starting {name}")
            proc = processes.start(name, argv, root / "logs")
            state.procs.append(proc)
            state.save()
            _wait_ready(name, proc, admin, state, timeout)
        status.update("starting kwok nodes")
        create_nodes(admin)
        readiness.wait_for(
            "kwok nodes to be Ready",
            lambda: readiness.nodes_ready(admin, NODE_NAMES),
            state.procs[-1],
            timeout,
        )
        readiness.probe_scheduling(admin, timeout, _proc(state, "kube-scheduler"))


def _wait_ready(
    name: str, proc: Proc, admin: httpx.Client, state: ClusterState, timeout: float
) -> None:
    for what, check in ready_checks(name, admin, state.ports):
        readiness.wait_for(what, check, proc, timeout)


def ready_checks(
    name: str, admin: httpx.Client, ports: dict[str, int]
) -> list[tuple[str, Callable[[], bool]]]:
    """What "ready" means for each component: its health endpoint, then the work it does."""
    table: dict[str, list[tuple[str, Callable[[], bool]]]] = {
        "etcd": [("etcd /health", lambda: readiness.etcd_healthy(ports["etcd-client"]))],
        "kube-apiserver": [
            ("kube-apiserver /readyz", lambda: readiness.ok(admin, "/readyz")),
            ("namespace 'default'", lambda: readiness.ok(admin, "/api/v1/namespaces/default")),
        ],
        "kube-controller-manager": [
            ("kube-controller-manager /healthz",
             lambda: readiness.component_healthy(ports["controller-manager"])),
            ("ServiceAccount 'default/default'",
             lambda: readiness.ok(admin, "/api/v1/namespaces/default/serviceaccounts/default")),
        ],
        "kube-scheduler": [
            ("kube-scheduler /healthz", lambda: readiness.component_healthy(ports["scheduler"])),
        ],
    }  # fmt: skip
    return table.get(name, [])


def _proc(state: ClusterState, name: str) -> Proc:
    return next(p for p in state.procs if p.name == name)


def down(state_dir: Path, console: Console) -> list[str]:
    """Stop every process this state started and remove the state directory."""
    state = ClusterState.load(state_dir)
    stopped = processes.stop(state.procs) if state else []
    shutil.rmtree(state_dir, ignore_errors=True)
    console.print(f"stopped {', '.join(stopped) or 'nothing (was not running)'}")
    return stopped


def status(state_dir: Path) -> dict[str, object]:
    """Each component's pid, log and liveness, for `outpost dev status`."""
    state = ClusterState.load(state_dir)
    if state is None:
        return {"running": False, "components": {}}
    components = {
        p.name: {"pid": p.pid, "running": processes.is_ours(p), "log": p.log} for p in state.procs
    }
    return {
        "running": is_running(state),
        "server": state.server,
        "kubeconfig": str(state.kubeconfig),
        "components": components,
    }


def require(state_dir: Path) -> ClusterState:
    """The running control plane's state; ComponentError when it is not up."""
    state = ClusterState.load(state_dir)
    if state is None:
        raise ComponentError("the local control plane is not up: run 'outpost dev up' first")
    return state
