"""A real docker-registry (distribution 2.8.2) on 127.0.0.1 for each test, plus skopeo.

`registry` serves plain HTTP without auth; `tls_registry` serves TLS (a throwaway CA made with
`cryptography`) with htpasswd Basic auth; `token_registry` uses Bearer tokens from a loopback
token service (`token_server.py`). Each has a fresh temporary storage root and a fixed
`http.secret` (upload Locations must survive a restart); the server itself is
`airgap.localregistry.RegistryServer`, shared with the demo. Tests skip with a reason when
`docker-registry`, `skopeo` or `htpasswd` is missing (`make` installs them).

`any_registry` runs a test against both implementations: docker-registry and go-containerregistry's
(`crane registry serve`, built from its Go module). `crane` and `oras` are the checking clients
built the same way (each under its own cache key, `outpost dev tools`).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airgap.localregistry import REGISTRY_BIN, RegistryServer

__all__ = ["PASSWORD", "USER", "RegistryServer", "make_tls"]
from tests.registry.crane import CraneRegistry, crane_binary
from tests.registry.token_server import ISSUER, SERVICE, TokenServer

Served = RegistryServer | CraneRegistry

USER, PASSWORD = "importer", "s3cret-pass"


def _require(binary: str) -> str:
    path = binary if Path(binary).is_file() else shutil.which(binary)
    if not path:
        pytest.skip(f"{binary} not installed: apt-get install docker-registry skopeo apache2-utils")
    return path


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


@pytest.fixture(params=["docker-registry", "crane"])
def any_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """Plain-HTTP registry without auth, once per implementation."""
    server: Served
    if request.param == "crane":
        server = CraneRegistry(tmp_path / "crane-registry")
    else:
        _require(REGISTRY_BIN)
        server = RegistryServer(tmp_path / "registry")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def crane() -> str:
    return crane_binary()


@pytest.fixture
def oras() -> str:
    from devcluster.errors import DevClusterError
    from devcluster.tools import ensure_tool

    try:
        return str(ensure_tool("oras"))
    except DevClusterError as exc:
        pytest.skip(f"oras not available: {exc}")
