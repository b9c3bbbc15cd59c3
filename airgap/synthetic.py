"""Synthetic, deterministic OCI images and Helm charts for tests and demos (nothing downloaded).

`write_layout(root, specs, seed)` writes an OCI image layout: per image, gzip layers of
pseudo-random bytes (the same seed gives the same bytes, hence the same digests), a valid OCI
image config per platform, image manifests and, for more than one platform, an image index;
index.json entries carry `org.opencontainers.image.ref.name` with the full reference. Layers
are streamed to disk while hashed, so even multi-GiB layers take little memory.
`write_chart(path, name, version)` writes a minimal installable chart archive.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from airgap import oci

CREATED = "2026-01-01T00:00:00Z"
_BIG = 16 * 1024 * 1024


@dataclass(frozen=True)
class ImageSpec:
    """One image: its reference, platforms and layer sizes (`shared` layers depend on the seed
    only, so images with equal `shared` sizes share those blobs)."""

    ref: str
    layer_sizes: tuple[int, ...] = (2048, 32768)
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64")
    shared: tuple[int, ...] = ()
    salt: str = ""  # changes the image's own layers, not the `shared` ones (a new release)


class _HashingWriter(io.RawIOBase):
    """Write-through file wrapper counting bytes and hashing them."""

    def __init__(self, target: IO[bytes] | gzip.GzipFile) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha.update(view)
        self.size += len(view)
        self.target.write(view)
        return len(view)


class _RandomReader(io.RawIOBase):
    def __init__(self, key: str, size: int) -> None:
        self.rng, self.left = random.Random(key), size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return self.rng.randbytes(n)


def write_layout(root: Path, specs: Sequence[ImageSpec], seed: int = 0) -> dict[str, str]:
    """Write (or extend) an OCI layout at `root`; returns reference → top-level digest."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    entries, result = [], {}
    for spec in specs:
        desc = _write_image(root, spec, seed)
        entries.append({**desc, "annotations": {oci.REF_NAME: spec.ref}})
        result[spec.ref] = desc["digest"]
    index = {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": entries}
    (root / "index.json").write_text(json.dumps(index, indent=2))
    return result


def _write_image(root: Path, spec: ImageSpec, seed: int) -> dict[str, Any]:
    manifests = []
    for platform in spec.platforms:
        keys = [f"{seed}/shared/{i}" for i in range(len(spec.shared))]
        keys += [
            f"{seed}/{spec.ref}{spec.salt}/{platform}/{i}" for i in range(len(spec.layer_sizes))
        ]
        sizes = (*spec.shared, *spec.layer_sizes)
        layers = [write_layer(root, key, size) for key, size in zip(keys, sizes, strict=True)]
        manifests.append(_write_manifest(root, platform, layers))
    if len(manifests) == 1:
        return {k: v for k, v in manifests[0].items() if k != "platform"}
    index = {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": manifests}
    return write_blob(root, _dumps(index), oci.OCI_INDEX)


def write_layer(root: Path, key: str, size: int) -> dict[str, Any]:
    """A gzip'd tar holding one file of `size` pseudo-random bytes derived from `key`."""
    tmp = root / "blobs" / "sha256" / f".tmp-{os.getpid()}"
    with tmp.open("wb") as raw:
        compressed = _HashingWriter(raw)
        level = 1 if size <= _BIG else 0
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=level, mtime=0) as gz:
            plain = _HashingWriter(gz)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(f"data/{hashlib.sha256(key.encode()).hexdigest()[:12]}")
                info.size, info.mtime, info.mode = size, 0, 0o644
                tar.addfile(info, _RandomReader(key, size))
    digest = "sha256:" + compressed.sha.hexdigest()
    tmp.replace(root / "blobs" / "sha256" / digest[7:])
    return {
        "mediaType": oci.OCI_LAYER_GZIP,
        "digest": digest,
        "size": compressed.size,
        "diffId": "sha256:" + plain.sha.hexdigest(),
    }


def _write_manifest(root: Path, platform: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    os_name, _, arch = platform.partition("/")
    config = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [layer["diffId"] for layer in layers]},
        "history": [{"created": CREATED, "created_by": "outpost synthetic"} for _ in layers],
    }
    config_desc = write_blob(root, _dumps(config), oci.OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": config_desc,
        "layers": [{k: v for k, v in layer.items() if k != "diffId"} for layer in layers],
    }
    desc = write_blob(root, _dumps(manifest), oci.OCI_MANIFEST)
    return {**desc, "platform": {"architecture": arch, "os": os_name}}


def attach_referrer(
    root: Path, subject: dict[str, Any], artifact_type: str, payload: bytes
) -> dict[str, Any]:
    """Attach an OCI 1.1 artifact (e.g. a signature) to `subject`, as `oras attach` records it:
    a manifest with `subject` and `artifactType`, listed in index.json without a reference name.
    """
    empty = write_blob(root, b"{}", "application/vnd.oci.empty.v1+json")
    layer = write_blob(root, payload, "application/octet-stream")
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty,
        "layers": [layer],
        "subject": {k: subject[k] for k in ("mediaType", "digest", "size")},
    }
    desc = write_blob(root, _dumps(manifest), oci.OCI_MANIFEST) | {"artifactType": artifact_type}
    index = json.loads((root / "index.json").read_text())
    index["manifests"].append(desc)
    (root / "index.json").write_text(json.dumps(index, indent=2))
    return desc


def write_blob(root: Path, data: bytes, media_type: str) -> dict[str, Any]:
    """Store bytes as a blob; returns its descriptor."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def write_chart(path: Path, name: str, version: str, image: str = "") -> Path:
    """A minimal chart archive `<name>-<version>.tgz` in directory `path` (deterministic)."""
    files = {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n"
        f'appVersion: "{version}"\ndescription: Synthetic chart for tests\ntype: application\n',
        "values.yaml": f'image: "{image}"\n',
        "templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        "  name: {{ .Release.Name }}-cfg\ndata:\n  image: {{ .Values.image | quote }}\n",
    }
    target = path / f"{name}-{version}.tgz"
    with (
        target.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return target
