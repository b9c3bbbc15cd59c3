"""Opening what the hub runs on: its store by URL, and its signing key from a file.

Shared by the CLI and the server processes (`hub.serving`), so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.errors import HubError
from hub.store import HubStore
from wire.errors import KeyFormatError
from wire.keys import key_from_pem


def open_store(url: str) -> HubStore:
    """`sqlite:///path` (embedded default) or `postgresql://…` (needs psycopg 3)."""
    if url.startswith("sqlite:///"):
        from hub.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from hub.postgres import PostgresStore

        return PostgresStore(url)
    raise HubError("--db must be 'sqlite:///<path>' or 'postgresql://…'")


def load_hub_key(path: str) -> Ed25519PrivateKey:
    """The hub's Ed25519 signing key from a PEM file; HubError saying how to make one."""
    try:
        return key_from_pem(Path(path).read_bytes(), f"hub key '{path}'")
    except OSError as exc:
        raise HubError(f"cannot read hub key '{path}': {exc.strerror}") from exc
    except KeyFormatError as exc:
        raise HubError(f"{exc}; create one with 'outpost hub key create --out FILE'") from exc
