"""The support bundle file: a tar.gz of members, a manifest of their digests, a DSSE signature.

Pure over bytes plus the file it writes or reads. Layout (member order fixed):
- `manifest.json`: `{"schema", "created", "agentId", "members": {name: {"sha256", "size"}}}`;
- `manifest.dsse.json`: a DSSE envelope over `manifest.json`, signed with the install's key;
- every member named in the manifest, and nothing else.
Verification recomputes every digest, refuses a member the manifest does not list or a listed
member that is missing, and checks the signature against the key the verifier trusts (the
install's public key, as the hub knows it), so what the cluster produced cannot be edited later.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.errors import SupportBundleInvalidError
from bundle import dsse
from bundle.errors import BundleError
from facts import rfc3339

SCHEMA = "outpost.dev/support-bundle/v1"
PAYLOAD_TYPE = "application/vnd.outpost.support-bundle-manifest.v1+json"
MANIFEST, SIGNATURE = "manifest.json", "manifest.dsse.json"
MAX_MEMBER = 256 * 1024 * 1024  # a member larger than this is not a support bundle's


@dataclass(frozen=True)
class Verified:
    """A support bundle whose signature and every digest checked out."""

    agent_id: str
    created: str
    members: dict[str, bytes]


def manifest_of(members: Mapping[str, bytes], agent_id: str, now: datetime) -> bytes:
    """The manifest document: every member's sha256 and size, in name order."""
    listed = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(members.items())
    }
    doc = {"schema": SCHEMA, "created": rfc3339.format_time(now), "agentId": agent_id,
           "members": listed}  # fmt: skip
    return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def write(path: Path, members: Mapping[str, bytes], key: Ed25519PrivateKey, agent_id: str,
          now: datetime) -> bytes:  # fmt: skip
    """Write the signed archive to `path` (mode 0600); returns the manifest bytes."""
    manifest = manifest_of(members, agent_id, now)
    envelope = dsse.sign(PAYLOAD_TYPE, manifest, [key]).to_json()
    stamp = int(now.timestamp())
    with path.open("wb") as raw:
        path.chmod(0o600)
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, data in [
                (MANIFEST, manifest),
                (SIGNATURE, envelope),
                *sorted(members.items()),
            ]:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), stamp, 0o600
                tar.addfile(info, io.BytesIO(data))
    return manifest


def verify(path: Path, public_key: Ed25519PublicKey) -> Verified:
    """Check the signature and every member; SupportBundleInvalidError naming what failed."""
    found = _read(path)
    manifest, envelope = found.pop(MANIFEST, None), found.pop(SIGNATURE, None)
    if manifest is None or envelope is None:
        raise SupportBundleInvalidError(
            f"{path}: not a support bundle (no {MANIFEST} or {SIGNATURE})"
        )
    try:
        payload, _ = dsse.verify(dsse.parse(envelope, SIGNATURE), PAYLOAD_TYPE,
                                 {dsse.key_id(public_key): public_key}, 1, SIGNATURE)  # fmt: skip
    except BundleError as exc:
        raise SupportBundleInvalidError(f"{path}: signature check failed: {exc}") from exc
    if payload != manifest:
        raise SupportBundleInvalidError(f"{path}: {MANIFEST} is not the document that was signed")
    doc = json.loads(payload)
    _check_members(path, doc.get("members") or {}, found)
    return Verified(str(doc.get("agentId", "")), str(doc.get("created", "")), found)


def _check_members(path: Path, listed: Mapping[str, Mapping[str, object]],
                   found: Mapping[str, bytes]) -> None:  # fmt: skip
    extra = sorted(set(found) - set(listed))
    missing = sorted(set(listed) - set(found))
    if extra or missing:
        raise SupportBundleInvalidError(
            f"{path}: members not as signed (unlisted: {extra[:3]}, missing: {missing[:3]})"
        )
    for name, data in found.items():
        if hashlib.sha256(data).hexdigest() != listed[name].get("sha256"):
            raise SupportBundleInvalidError(f"{path}: member '{name}' was changed after signing")


def _read(path: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                if not info.isreg() or info.size > MAX_MEMBER or info.name in members:
                    raise SupportBundleInvalidError(f"{path}: unexpected member '{info.name}'")
                handle = tar.extractfile(info)
                members[info.name] = handle.read() if handle else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SupportBundleInvalidError(f"{path}: cannot read the archive: {exc}") from exc
    return members
