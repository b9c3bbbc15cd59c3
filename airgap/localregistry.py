"""A local docker-registry (distribution 2.8) process on 127.0.0.1, for demos and tests.

I/O: writes a config file and a storage directory under `workdir`, runs `docker-registry serve`
as a child process and waits until it listens. The `http.secret` is fixed so that upload
Locations stay valid across `restart()` (resumable uploads), and storage survives restarts.
Never meant for production: no TLS unless given a certificate, no auth unless configured.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from airgap.errors import AirgapError

REGISTRY_BIN = "/usr/bin/docker-registry"
START_TIMEOUT_SECONDS = 15.0


def registry_binary() -> str | None:
    """The docker-registry binary, or None when it is not installed."""
    if Path(REGISTRY_BIN).is_file():
        return REGISTRY_BIN
    return shutil.which("docker-registry") or shutil.which("registry")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryServer:
    """One docker-registry process; `restart()` keeps port, storage and secret."""

    workdir: Path
    tls: tuple[Path, Path] | None = None
    auth: Mapping[str, object] | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def netloc(self) -> str:
        """`127.0.0.1:<port>`, the registry's address."""
        return f"127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        """Where the registry stores blobs."""
        return self.workdir / "storage"

    @property
    def log(self) -> Path:
        """The registry's log file."""
        return self.workdir / "registry.log"

    def config(self) -> dict[str, object]:
        """The registry's configuration: loopback listener, filesystem storage, optional TLS."""
        http: dict[str, object] = {"addr": self.netloc, "secret": "outpost-local-secret"}
        if self.tls:
            http["tls"] = {"certificate": str(self.tls[0]), "key": str(self.tls[1])}
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
            },
            "http": http,
        }
        if self.auth:
            config["auth"] = self.auth
        return config

    def start(self) -> None:
        """Start the process and wait until it accepts connections.

        Raises:
            AirgapError: docker-registry is missing, exited, or did not listen in time.
        """
        binary = registry_binary()
        if binary is None:
            raise AirgapError("docker-registry is not installed: apt-get install docker-registry")
        self.storage.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(self.config()))  # JSON is YAML
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([binary, "serve", str(path)], stdout=log, stderr=log)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise AirgapError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AirgapError(f"docker-registry did not listen on {self.netloc} within 15 s")

    def stop(self) -> None:
        """Stop the registry (terminate, then kill after 10 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and storage."""
        self.stop()
        self.start()

    def blob_files(self) -> list[Path]:
        """Committed blob data files in storage (whatever repository links them)."""
        return sorted(self.storage.glob("docker/registry/v2/blobs/sha256/*/*/data"))
