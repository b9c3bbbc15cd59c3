"""Key and keyring files on disk: PEM Ed25519 keys and keyring-chain files.

I/O only, with every OS or format error translated into a `BundleError` that names the file.
Private keys are PEM PKCS#8 without a password (they are meant for an HSM/KMS in production;
these files are for tests, samples and air-gapped signing stations), created 0600 with O_EXCL so
an existing key is never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from bundle import dsse
from bundle.errors import BundleError


def generate(prefix: Path) -> tuple[str, Path, Path]:
    """Write `PREFIX.key` (0600) and `PREFIX.pub`; return key id and both paths."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    write_new(key_path, private, 0o600)
    write_new(pub_path, public, 0o644)
    return dsse.key_id(key.public_key()), key_path, pub_path


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode`; refuse to overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError as exc:
        raise BundleError(f"'{path}' already exists; choose another --out or remove it") from exc
    except OSError as exc:
        raise BundleError(f"cannot create '{path}': {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_replace(path: Path, data: bytes) -> None:
    """Write `path` atomically (temp file + rename), for outputs that may be regenerated."""
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise BundleError(f"cannot write '{path}': {exc.strerror}") from exc


def read(path: Path, what: str) -> bytes:
    """The bytes of a file; BundleError naming `what` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {what} '{path}': {exc.strerror}") from exc


def load_private(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PEM Ed25519 private key."""
    try:
        key = load_pem_private_key(read(path, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"'{path}' is not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"'{path}' is not an Ed25519 private key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """A PEM Ed25519 public key."""
    try:
        key = load_pem_public_key(read(path, "public key"))
    except (ValueError, TypeError) as exc:
        raise BundleError(f"'{path}' is not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"'{path}' is not an Ed25519 public key")
    return key
