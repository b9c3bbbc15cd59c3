"""Generated PKI for the local control plane: one CA, serving and client certificates, SA keys.

Written to a private directory (0700, keys 0600). ECDSA P-256 keeps generation instant; the CA
is valid for a week, plenty for a dev or test cluster and short enough to be worthless if leaked.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import k8syaml

VALIDITY = dt.timedelta(days=7)

# client name -> (common name, organisations): CN is the user, O the groups.
CLIENTS = {
    "admin": ("outpost-dev-admin", ("system:masters",)),
    "controller-manager": ("system:kube-controller-manager", ()),
    "scheduler": ("system:kube-scheduler", ()),
    "kwok": ("outpost-dev-kwok", ("system:masters",)),
}


@dataclass(frozen=True)
class Pki:
    root: Path

    def path(self, name: str) -> Path:
        """A file inside the PKI directory."""
        return self.root / name

    @property
    def ca_cert(self) -> Path:
        """The cluster CA's certificate."""
        return self.root / "ca.crt"

    def client(self, name: str) -> tuple[Path, Path]:
        """Certificate and key paths of the client `name`."""
        return self.root / f"{name}.crt", self.root / f"{name}.key"


def _write(path: Path, data: bytes, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def generate(root: Path) -> Pki:
    """Create the CA, the apiserver's serving cert, client certs and the SA signing key pair."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(
        _name("outpost-dev-ca"),
        ca_key,
        None,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
        ],
    )
    _write(root / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    _write(root / "ca.key", _key_pem(ca_key), private=True)
    issuer = (ca.subject, ca_key)
    _issue(root, "apiserver", _name("kube-apiserver"), issuer, server=True)
    for name, (cn, orgs) in CLIENTS.items():
        _issue(root, name, _name(cn, orgs), issuer, server=False)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    _write(root / "sa.key", _key_pem(sa_key), private=True)
    _write(
        root / "sa.pub",
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return Pki(root)


def _issue(
    root: Path,
    name: str,
    subject: x509.Name,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey],
    server: bool,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    exts: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([usage]), False),
    ]
    if server:
        exts.append(
            (
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes.default.svc"),
                        x509.DNSName("kubernetes.default.svc.cluster.local"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                False,
            )
        )
    cert = _certificate(subject, key, issuer, exts)
    _write(root / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
    _write(root / f"{name}.key", _key_pem(key), private=True)


def kubeconfig(pki: Pki, client: str, server: str, dest: Path) -> Path:
    """Write a kubeconfig with everything embedded, so it works from any directory."""
    cert, key = pki.client(client)

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "outpost-dev",
                "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": client,
                "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
            }
        ],
        "contexts": [
            {"name": "outpost-dev", "context": {"cluster": "outpost-dev", "user": client}}
        ],
        "current-context": "outpost-dev",
    }
    _write(dest, k8syaml.dump(doc).encode(), private=True)
    return dest
