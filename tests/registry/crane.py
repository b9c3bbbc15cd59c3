"""go-containerregistry's registry (`crane registry serve`) on 127.0.0.1: the second implementation.

Built from its Go module into the tool cache (`outpost dev tools crane`); blobs on disk under the
test's directory. It serves neither the referrers API nor token auth: the tests that need those
say so. `crane` itself is also the second checking client beside skopeo.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from airgap.localregistry import free_port

START_TIMEOUT_SECONDS = 15.0


def crane_binary() -> str:
    """The cached crane (built on first use); skips when there is no Go toolchain."""
    from devcluster.errors import DevClusterError
    from devcluster.tools import ensure_tool

    try:
        return str(ensure_tool("crane"))
    except DevClusterError as exc:
        pytest.skip(f"crane not available: {exc}")


@dataclass
class CraneRegistry:
    """One `crane registry serve` process with its blobs in `workdir/blobs`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    kind: str = "crane"

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.workdir / "blobs").mkdir(parents=True, exist_ok=True)
        argv = [crane_binary(), "registry", "serve", "--address", self.netloc]
        argv += ["--disk", str(self.workdir / "blobs")]
        with (self.workdir / "crane.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.workdir / "crane.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"crane registry did not listen on {self.netloc}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
