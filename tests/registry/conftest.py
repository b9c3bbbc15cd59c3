"""A real docker-registry (distribution 2.8.2) on 127.0.0.1 for each test, plus skopeo.

`registry` serves plain HTTP without auth; `tls_registry` serves TLS (a throwaway CA made with
`cryptography`) with htpasswd Basic auth; `token_registry` uses Bearer tokens from a loopback
token service (`token_server.py`). Each has a fresh temporary storage root and a fixed
`http.secret` (upload Locations must survive a restart). Tests skip with a reason when
`docker-registry`, `skopeo` or `htpasswd` is missing (`make` installs them).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.registry.token_server import ISSUER, SERVICE, TokenServer

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "importer", "s3cret-pass"


def _require(binary: str) -> str:
    path = binary if Path(binary).is_file() else shutil.which(binary)
    if not path:
        pytest.skip(f"{binary} not installed: apt-get install docker-registry skopeo apache2-utils")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryServer:
    """One docker-registry process; `restart()` keeps port, storage and secret."""

    workdir: Path
    tls: tuple[Path, Path] | None = None
    auth: Mapping[str, object] | None = None
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        return self.workdir / "storage"

    def config(self) -> dict[str, object]:
        http: dict[str, object] = {"addr": self.netloc, "secret": "outpost-test-secret"}
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
        self.storage.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(self.config()))  # JSON is YAML
        log = (self.workdir / "registry.log").open("ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.workdir / "registry.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start listening within 15 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def blob_files(self) -> list[Path]:
        """Committed blob data files in storage (whatever repository links them)."""
        return sorted(self.storage.glob("docker/registry/v2/blobs/sha256/*/*/data"))


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outpost test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """Plain-HTTP registry without auth."""
    _require(REGISTRY_BIN)
    server = RegistryServer(tmp_path / "registry")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[tuple[RegistryServer, Path]]:
    """TLS registry with Basic auth (USER/PASSWORD); yields (server, CA file)."""
    _require(REGISTRY_BIN)
    htpasswd = _require("htpasswd")
    workdir = tmp_path / "tls-registry"
    workdir.mkdir()
    ca, cert, key = make_tls(workdir)
    users = workdir / "htpasswd"
    line = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], capture_output=True, check=True)
    users.write_bytes(line.stdout)
    auth = {"htpasswd": {"realm": "outpost-test", "path": str(users)}}
    server = RegistryServer(workdir, tls=(cert, key), auth=auth)
    server.start()
    yield server, ca
    server.stop()


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[tuple[RegistryServer, TokenServer]]:
    """Plain-HTTP registry in `auth: token` mode backed by a loopback token service."""
    _require(REGISTRY_BIN)
    workdir = tmp_path / "token-registry"
    workdir.mkdir()
    tokens = TokenServer(workdir, USER, PASSWORD)
    auth = {
        "token": {
            "realm": tokens.realm,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": str(tokens.bundle),
        }
    }
    server = RegistryServer(workdir, auth=auth)
    server.start()
    yield server, tokens
    server.stop()
    tokens.stop()


@pytest.fixture
def skopeo() -> str:
    return _require("skopeo")
