"""Throwaway keys, keyrings, source trees and OCI layouts for the bundle tests.

Deterministic: keys come from fixed seeds, images are built byte for byte in Python, so every
digest is the same on every run. Never real keys.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundle import dsse
from bundle.build import BuildRequest, build
from bundle.keyring import encode_chain
from bundle.rotation import RoleSpec, make_keyring, next_keyring, sign_first, sign_rotation

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def key(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


@dataclass
class Vendor:
    """A vendor's keys and its keyring chain (v1 by default; rotate() adds versions)."""

    roots: list[Ed25519PrivateKey]
    bundle_keys: list[Ed25519PrivateKey]
    chain: list[dsse.Envelope]
    expires: datetime = NOW + YEAR

    @property
    def chain_bytes(self) -> list[bytes]:
        return [e.to_json() for e in self.chain]

    def trust_root(self, upto: int = 1) -> bytes:
        return encode_chain(self.chain[:upto])

    def keyring_file(self) -> bytes:
        return encode_chain(self.chain)


def vendor(root_threshold: int = 2, bundle_threshold: int = 1, tag: str = "v") -> Vendor:
    roots = [key(f"{tag}-root-{i}") for i in range(3)]
    bundle_keys = [key(f"{tag}-bundle-{i}") for i in range(2)]
    ring = make_keyring(
        1,
        NOW + YEAR,
        {
            "root": RoleSpec(tuple(k.public_key() for k in roots), root_threshold),
            "bundle": RoleSpec(tuple(k.public_key() for k in bundle_keys), bundle_threshold),
            "hub": RoleSpec((key(f"{tag}-hub").public_key(),)),
            "license": RoleSpec((key(f"{tag}-license").public_key(),)),
        },
    )
    return Vendor(roots, bundle_keys, [sign_first(ring, roots[:root_threshold])])


def rotate_bundle_key(v: Vendor, new_bundle: Ed25519PrivateKey) -> Vendor:
    """Keyring vN+1 whose bundle role is only `new_bundle`, signed by two roots."""
    from bundle.keyring import from_payload

    old = from_payload(v.chain[-1].payload)
    new = next_keyring(old, NOW + YEAR, {"bundle": RoleSpec((new_bundle.public_key(),))})
    envelope = sign_rotation(old, new, v.roots[:2])
    return Vendor(v.roots, [new_bundle], [*v.chain, envelope])


def source_tree(root: Path) -> Path:
    (root / "crds").mkdir(parents=True)
    (root / "crds" / "widgets.acme.dev.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.acme.dev}\n"
    )
    chart = root / "charts" / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.2.3\n")
    (chart / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    (root / "resources").mkdir()
    (root / "resources" / "10-widget.yaml").write_text(
        "apiVersion: acme.dev/v1\nkind: Widget\nmetadata: {name: w}\n"
    )
    (root / "resources" / "5-first.yaml").write_text(
        "apiVersion: acme.dev/v1\nkind: Widget\nmetadata: {name: first}\n"
    )
    return root


def _blob(blobs: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(text: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        payload = text.encode()
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def oci_layout(root: Path, ref: str = "registry.acme.dev/acme/api:2.14.0", text: str = "") -> Path:
    """A two-platform image (index → 2 manifests → config + shared layer) in an OCI layout."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layer = _blob(blobs, _layer(text or "hello")) | {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
    }
    children = []
    for arch in ("amd64", "arm64"):
        config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {}}).encode()
        cfg = _blob(blobs, config) | {"mediaType": "application/vnd.oci.image.config.v1+json"}
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cfg,
            "layers": [layer],
        }
        desc = _blob(blobs, json.dumps(manifest).encode())
        children.append(
            desc
            | {
                "mediaType": manifest["mediaType"],
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    }
    top = _blob(blobs, json.dumps(index).encode()) | {"mediaType": index["mediaType"]}
    top["annotations"] = {"org.opencontainers.image.ref.name": ref}
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return root


def build_bundle(
    tmp: Path,
    v: Vendor,
    *,
    sequence: int = 7,
    images: bool = True,
    name: str = "b.tar",
    signers: list[Ed25519PrivateKey] | None = None,
    now: datetime = NOW,
    expires_in: timedelta = timedelta(days=180),
    version: str = "2.14.0",
) -> Path:
    src = tmp / "src"
    if not src.exists():
        source_tree(src)
    layouts = (oci_layout(tmp / "oci"),) if images and not (tmp / "oci").exists() else ()
    if images and not layouts:
        layouts = (tmp / "oci",)
    request = BuildRequest(
        src,
        tmp / name,
        version,
        sequence,
        product="acme-platform",
        expires_in=expires_in,
        images=layouts,
    )
    build(request, v.chain_bytes, signers or v.bundle_keys[:1], now)
    return tmp / name
