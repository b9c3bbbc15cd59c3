"""The support bundle's signed layout, and its verification over bytes, shared by agent and hub.

Pure: bytes in, verified members out. Layout (member order fixed by the writer):
- `manifest.json`: `{"schema", "created", "agentId", "members": {name: {"sha256", "size"}}}`;
- `manifest.dsse.json`: a DSSE envelope over `manifest.json`, signed with the install's key;
- every member named in the manifest, and nothing else.
Verification recomputes every digest, refuses a member the manifest does not list or a listed
member that is missing, and checks the signature against the keys the verifier trusts (the
install's public key, as the hub knows it), so what the cluster produced cannot be edited later.
Reading is bounded (each member and the whole) so an upload cannot expand without limit.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bundle import dsse
from bundle.errors import BundleError
from facts import rfc3339
from wire.errors import SupportBundleError

SCHEMA = "outpost.dev/support-bundle/v1"
PAYLOAD_TYPE = "application/vnd.outpost.support-bundle-manifest.v1+json"
MANIFEST, SIGNATURE = "manifest.json", "manifest.dsse.json"
MAX_MEMBER = 256 * 1024 * 1024  # a member larger than this is not a support bundle's
MAX_TOTAL = 512 * 1024 * 1024  # nor is an archive expanding to more than this


@dataclass(frozen=True)
class Verified:
    """A support bundle whose signature and every digest checked out."""

    agent_id: str
    created: str
    members: dict[str, bytes]

    @property
    def redactions(self) -> int:
        """How many values the redaction report lists (0 when it has none)."""
        try:
            doc = json.loads(self.members.get("redactions.json", b"[]"))
        except ValueError:
            return 0
        found = doc.get("redactions", doc) if isinstance(doc, dict) else doc
        return len(found) if isinstance(found, list) else 0


def manifest_of(members: Mapping[str, bytes], agent_id: str, now: datetime) -> bytes:
    """The manifest document: every member's sha256 and size, in name order."""
    listed = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(members.items())
    }
    doc = {"schema": SCHEMA, "created": rfc3339.format_time(now), "agentId": agent_id,
           "members": listed}  # fmt: skip
    return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def verify(
    archive: bytes, keys: Sequence[Ed25519PublicKey], max_total: int = MAX_TOTAL
) -> Verified:
    """Check the signature (by any of `keys`) and every member; SupportBundleError naming what
    failed (the caller adds where the archive came from)."""
    found = read_members(archive, max_total)
    manifest, envelope = found.pop(MANIFEST, None), found.pop(SIGNATURE, None)
    if manifest is None or envelope is None:
        raise SupportBundleError(f"not a support bundle (no {MANIFEST} or {SIGNATURE})")
    payload = _signed_payload(envelope, keys)
    if payload != manifest:
        raise SupportBundleError(f"{MANIFEST} is not the document that was signed")
    doc = json.loads(payload)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise SupportBundleError(f"{MANIFEST} is not a {SCHEMA} manifest")
    _check_members(doc.get("members") or {}, found)
    return Verified(str(doc.get("agentId", "")), str(doc.get("created", "")), found)


def _signed_payload(envelope: bytes, keys: Sequence[Ed25519PublicKey]) -> bytes:
    last: BundleError | None = None
    for key in keys:
        try:
            payload, _ = dsse.verify(dsse.parse(envelope, SIGNATURE), PAYLOAD_TYPE,
                                     {dsse.key_id(key): key}, 1, SIGNATURE)  # fmt: skip
            return payload
        except BundleError as exc:
            last = exc
    raise SupportBundleError(f"signature check failed: {last or 'no key to check it with'}")


def _check_members(listed: Mapping[str, Mapping[str, object]], found: Mapping[str, bytes]) -> None:
    extra = sorted(set(found) - set(listed))
    missing = sorted(set(listed) - set(found))
    if extra or missing:
        raise SupportBundleError(
            f"members not as signed (unlisted: {extra[:3]}, missing: {missing[:3]})"
        )
    for name, data in found.items():
        if hashlib.sha256(data).hexdigest() != listed[name].get("sha256"):
            raise SupportBundleError(f"member '{name}' was changed after signing")


def read_members(archive: bytes, max_total: int = MAX_TOTAL) -> dict[str, bytes]:
    """Every regular member of the tar.gz, bounded; SupportBundleError on anything else."""
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for info in tar:
                total += info.size
                if (not info.isreg() or info.size > MAX_MEMBER or total > max_total
                        or info.name in members):  # fmt: skip
                    raise SupportBundleError(f"unexpected member '{info.name}'")
                handle = tar.extractfile(info)
                members[info.name] = handle.read() if handle else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise SupportBundleError(f"cannot read the archive: {exc}") from exc
    return members
