"""Ed25519 private keys as PEM, for the agent's identity and the hub's signing key.

Pure over bytes: reading and writing the files or Secrets that hold them is the callers' I/O.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from wire.errors import KeyFormatError


def new_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key."""
    return Ed25519PrivateKey.generate()


def key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """The key as unencrypted PKCS8 PEM (the file or Secret holding it must be private)."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def key_from_pem(data: bytes, where: str) -> Ed25519PrivateKey:
    """Load a PEM Ed25519 key; `where` names the source in the error."""
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"{where}: not an unencrypted PEM (PKCS8) private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"{where}: the key must be Ed25519")
    return key
