"""Hand-made tar archives for the malicious-bundle tests (links, devices, traversal, lies)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from bundle import dsse
from bundle.manifest import FileEntry, Manifest, sign_manifest
from tests.unit.bundle.factory import NOW, Vendor

YEAR_LATER = NOW.replace(year=NOW.year + 1)


@dataclass
class Member:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    size: int | None = None  # a header size that lies, when set
    extra: dict[str, str] = field(default_factory=dict)


def read_members(path: Path) -> list[Member]:
    out = []
    with tarfile.open(path) as tar:
        for info in tar:
            stream = tar.extractfile(info)
            out.append(Member(info.name, stream.read() if stream else b"", info.type))
    return out


def write_members(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.linkname = m.linkname
            info.size = len(m.data) if m.size is None else m.size
            info.pax_headers = m.extra
            if m.type in (tarfile.REGTYPE, tarfile.AREGTYPE) and m.size is None:
                tar.addfile(info, io.BytesIO(m.data))
            else:
                tar.addfile(info)
    return path


def manifest_for(files: dict[str, bytes], sequence: int = 7) -> Manifest:
    entries = tuple(FileEntry(p, len(d), hashlib.sha256(d).hexdigest()) for p, d in files.items())
    return Manifest("acme", "stable", "1.0.0", sequence, NOW, YEAR_LATER, entries)


def head(v: Vendor, manifest: Manifest, signers: list[object] | None = None) -> list[Member]:
    """Keyring members and a manifest member signed by the vendor's first bundle key."""
    keys = signers if signers is not None else v.bundle_keys[:1]
    envelope = sign_manifest(manifest, list(keys))
    ring = [Member(f"keyring/{i + 1:08d}.dsse.json", e.to_json()) for i, e in enumerate(v.chain)]
    return [*ring, Member("manifest.dsse.json", envelope.to_json())]


def replace_member(members: list[Member], name: str, data: bytes) -> list[Member]:
    return [Member(m.name, data, m.type) if m.name == name else m for m in members]


def flip_payload_byte(envelope_json: bytes) -> bytes:
    envelope = dsse.parse(envelope_json)
    payload = bytearray(envelope.payload)
    payload[len(payload) // 2] ^= 0x01
    return dsse.Envelope(envelope.payload_type, bytes(payload), envelope.signatures).to_json()


def flip_signature_byte(envelope_json: bytes) -> bytes:
    envelope = dsse.parse(envelope_json)
    first = envelope.signatures[0]
    sig = bytearray(first.sig)
    sig[0] ^= 0x01
    signatures = (dsse.Signature(first.keyid, bytes(sig)), *envelope.signatures[1:])
    return dsse.Envelope(envelope.payload_type, envelope.payload, signatures).to_json()
