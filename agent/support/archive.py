"""The support bundle file: writing it signed, and verifying a file on disk.

I/O: the file written or read. The layout and the pure verification live in
`wire.supportbundle`, shared with the hub, which verifies uploads the same way.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.errors import SupportBundleInvalidError
from bundle import dsse
from wire import supportbundle
from wire.errors import SupportBundleError
from wire.supportbundle import MANIFEST, PAYLOAD_TYPE, SIGNATURE, Verified

__all__ = ["Verified", "pack", "verify", "write"]


def pack(members: Mapping[str, bytes], key: Ed25519PrivateKey, agent_id: str,
         now: datetime) -> bytes:  # fmt: skip
    """The signed archive as bytes: manifest, its DSSE envelope, then members in name order."""
    manifest = supportbundle.manifest_of(members, agent_id, now)
    envelope = dsse.sign(PAYLOAD_TYPE, manifest, [key]).to_json()
    stamp = int(now.timestamp())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in [(MANIFEST, manifest), (SIGNATURE, envelope), *sorted(members.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), stamp, 0o600
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def write(path: Path, members: Mapping[str, bytes], key: Ed25519PrivateKey, agent_id: str,
          now: datetime) -> bytes:  # fmt: skip
    """Write the signed archive to `path` (mode 0600); returns the archive's bytes."""
    data = pack(members, key, agent_id, now)
    with path.open("wb") as out:
        path.chmod(0o600)
        out.write(data)
    return data


def verify(path: Path, public_key: Ed25519PublicKey) -> Verified:
    """Check the signature and every member; SupportBundleInvalidError naming what failed."""
    try:
        return supportbundle.verify(path.read_bytes(), [public_key])
    except OSError as exc:
        raise SupportBundleInvalidError(f"{path}: cannot read the archive: {exc}") from exc
    except SupportBundleError as exc:
        raise SupportBundleInvalidError(f"{path}: {exc}") from exc
