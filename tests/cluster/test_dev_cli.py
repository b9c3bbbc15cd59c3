"""`outpost dev up | env | status | down` as a user runs them, on a second, private control plane.

Covers: two Ready nodes through the printed environment, `up` when already up, a dead component
reported with its log, and `down` leaving no process of ours running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster import build

pytestmark = pytest.mark.cluster


def outpost(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from outpost.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )


def shell_env(env_lines: str) -> dict[str, str]:
    env = dict(os.environ)
    for line in env_lines.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = subprocess.run(
            ["sh", "-c", f"printf %s {value}"], capture_output=True, text=True, check=True
        ).stdout
    return env


def pids(state_dir: Path) -> list[int]:
    state = json.loads((state_dir / "state.json").read_text())
    return [p["pid"] for p in state["procs"]]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def test_dev_up_env_status_down(cluster_bins: build.BinDir, tmp_path: Path) -> None:
    state_dir = tmp_path / "dev"
    flag = ("--state-dir", str(state_dir))
    up = outpost("dev", "up", *flag)
    assert up.returncode == 0, up.stderr
    try:
        env = shell_env(outpost("dev", "env", *flag).stdout)
        assert env["PATH"].startswith(str(cluster_bins.path))
        nodes = subprocess.run(
            ["kubectl", "get", "nodes", "--no-headers"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert nodes.count(" Ready ") == 2, nodes
        again = outpost("dev", "up", *flag)
        assert again.returncode == 0
        assert "already up" in again.stderr
        status = json.loads(outpost("dev", "status", *flag, "-o", "json").stdout)
        assert status["running"] is True
        assert len(status["components"]) == 5
        started = pids(state_dir)
        os.kill(started[-1], signal.SIGKILL)  # kwok dies
        dead = outpost("dev", "status", *flag)
        assert dead.returncode == 1
        assert "DEAD" in dead.stdout
    finally:
        down = outpost("dev", "down", *flag)
    assert down.returncode == 0, down.stderr
    assert not state_dir.exists()
    assert not [pid for pid in started if alive(pid)]


def test_dev_env_without_cluster_is_a_clear_error(tmp_path: Path) -> None:
    result = outpost("dev", "env", "--state-dir", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "outpost dev up" in result.stderr
    assert "Traceback" not in result.stderr
