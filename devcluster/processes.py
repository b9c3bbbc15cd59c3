"""Start, watch and stop the control plane's processes, each in its own session with a log file.

Processes outlive `outpost dev up` (they are daemons of the dev cluster); `down` stops them by the
pid recorded at start, after checking that the pid still runs our binary, so a recycled pid of
some unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.errors import ComponentError

STOP_GRACE_SECONDS = 20.0
LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    binary: str
    log: str


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (released before it is used, so a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    """Start `argv` in its own session, logging to `<log_dir>/<name>.log`."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    proc = Proc(name, child.pid, argv[0], str(log))
    _await_exec(proc, child)
    return proc


def _await_exec(proc: Proc, child: subprocess.Popen[bytes]) -> None:
    # Right after fork /proc still shows our own command line; identity checks need the exec.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and child.poll() is None and not is_ours(proc):
        time.sleep(0.01)


def is_ours(proc: Proc) -> bool:
    """True while `proc.pid` is alive and still runs the binary we started."""
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) has exited; only its parent's wait is missing.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and cmdline.split(b"\0", 1)[0] == proc.binary.encode()


def tail(proc: Proc, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a process's log, for error messages."""
    try:
        text = Path(proc.log).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def check_alive(proc: Proc) -> None:
    """Raise ComponentError with the log's tail when the process has died."""
    if not is_ours(proc):
        raise ComponentError(
            f"{proc.name} exited unexpectedly; last lines of {proc.log}:\n{tail(proc)}"
        )


def stop(procs: list[Proc], grace: float = STOP_GRACE_SECONDS) -> list[str]:
    """SIGTERM every live process (reverse start order), SIGKILL what is left after `grace`."""
    stopped = []
    for proc in reversed(procs):
        if is_ours(proc):
            _signal(proc.pid, signal.SIGTERM)
            stopped.append(proc.name)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_ours(p) for p in procs):
        _reap(procs)
        time.sleep(0.1)
    for proc in procs:
        if is_ours(proc):
            _signal(proc.pid, signal.SIGKILL)
    time.sleep(0.2)
    _reap(procs)
    return stopped


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # each component leads its own session and process group
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(procs: list[Proc]) -> None:
    # When `up` and `down` run in one process (the test session) our components are its
    # children and must be waited for; only our own pids, never someone else's child.
    for proc in procs:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proc.pid, os.WNOHANG)
