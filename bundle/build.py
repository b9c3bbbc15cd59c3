"""Build a signed bundle from a source directory and OCI layouts.

I/O: reads `SRC/crds/*.yaml`, `SRC/charts/*` (chart directories, packed here, or `.tgz`),
`SRC/resources/*.yaml`, `SRC/preflight/*.yaml` and the `--image` layout directories; writes one
bundle tar. Refuses to sign unless the keyring chain verifies and the signing keys meet the
keyring's `bundle` threshold, so a bundle that no customer could verify is never produced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import k8syaml
from bundle import dsse
from bundle.charts import load_chart
from bundle.delta import base_ref, mark_in_base
from bundle.errors import BundleError
from bundle.keyring import Keyring, check_expiry, from_payload, load_trust_root
from bundle.layout import merge_layouts
from bundle.manifest import (
    ChartEntry,
    Manifest,
    ResourceEntry,
    VerifiedManifest,
    sign_manifest,
    verify_manifest,
)
from bundle.paths import path_problem
from bundle.verify import verify_bundle
from bundle.writer import Content, write_bundle

_ORDER = re.compile(r"^(\d+)-")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class BuildRequest:
    source: Path
    out: Path
    version: str
    sequence: int
    product: str = "outpost"
    channel: str = "stable"
    expires_in: timedelta = timedelta(days=180)
    images: tuple[Path, ...] = ()
    base: Path | None = None  # build a delta: carry only what this verified bundle lacks


@dataclass(frozen=True)
class BuildResult:
    path: Path
    manifest: Manifest
    digest: str
    signers: tuple[str, ...]


def build(
    request: BuildRequest,
    chain: Sequence[bytes],
    signers: Sequence[Ed25519PrivateKey],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> BuildResult:
    """Sign and write a bundle of `request`'s source; returns what was written."""
    keyring, _ = load_trust_root(chain)
    check_expiry(keyring, now)
    check_signers(keyring, signers)
    manifest, contents, documents = collect(request, now)
    if request.base is not None:
        base = verify_bundle(request.base, chain, now).verified
        manifest = as_delta(manifest, base, documents)
        carried = {f.path for f in manifest.carried}
        contents = [c for c in contents if c.path in carried]
    envelope = sign_manifest(manifest, list(signers)).to_json()
    verified = verify_manifest(envelope, keyring, now)
    versions = [(from_payload(dsse.parse(data).payload).version, data) for data in chain]
    write_bundle(request.out, versions, envelope, contents, progress)
    return BuildResult(request.out, manifest, verified.digest, verified.signers)


def as_delta(manifest: Manifest, base: VerifiedManifest, documents: frozenset[str]) -> Manifest:
    """The same release as a delta of `base`: files the base holds are marked, not carried.

    `documents` (the OCI layout's JSON files) are always carried: see `bundle.delta`.
    """
    if (base.manifest.product, base.manifest.channel) != (manifest.product, manifest.channel):
        raise BundleError(
            f"--base is a {base.manifest.product}/{base.manifest.channel} bundle; this build is"
            f" {manifest.product}/{manifest.channel}"
        )
    if base.manifest.sequence >= manifest.sequence:
        raise BundleError(
            f"--base has sequence {base.manifest.sequence}; a delta needs a higher sequence"
        )
    files = mark_in_base(manifest.files, base.manifest, documents)
    return replace(manifest, files=files, base=base_ref(base))


def check_signers(keyring: Keyring, signers: Sequence[Ed25519PrivateKey]) -> None:
    """The signing keys must meet the `bundle` role threshold of the (latest) keyring."""
    role = keyring.role("bundle")
    ids = {dsse.key_id(k.public_key()) for k in signers}
    good = ids & set(role.keyids)
    if len(good) < role.threshold:
        raise BundleError(
            f"the signing keys meet {len(good)} of the {role.threshold} signature(s) the"
            f" 'bundle' role of keyring v{keyring.version} requires; sign with the bundle keys"
            f" listed in the keyring (ids {', '.join(k[:12] for k in role.keyids)}…)"
        )


def collect(request: BuildRequest, now: datetime) -> tuple[Manifest, list[Content], frozenset[str]]:
    """Gather every content file in bundle order and describe it in an unsigned manifest.

    Also returns the paths of the OCI layout's JSON documents (layout, index, manifests).
    """
    if not request.source.is_dir():
        raise BundleError(f"source directory '{request.source}' does not exist")
    crds = [_yaml_content(p, "crds") for p in _listing(request.source / "crds")]
    charts = [load_chart(p) for p in _listing(request.source / "charts", charts=True)]
    paths = sorted(_listing(request.source / "resources"), key=lambda p: (_order(p), p.name))
    resources = [(_order(p), _yaml_content(p, "resources")) for p in paths]
    preflight = [_yaml_content(p, "preflight") for p in _listing(request.source / "preflight")]
    images = merge_layouts(list(request.images))
    contents = [*crds, *(Content.from_bytes(c.path, c.data) for c in charts)]
    contents += [c for _, c in resources] + preflight + list(images.contents)
    _check_unique(contents)
    manifest = Manifest(
        request.product,
        request.channel,
        request.version,
        request.sequence,
        created=now,
        expires=now + request.expires_in,
        files=tuple(c.entry() for c in contents),
        images=images.images,
        referrers=images.referrers,
        crds=tuple(c.path for c in crds),
        charts=tuple(ChartEntry(c.path, c.name, c.version) for c in charts),
        resources=tuple(ResourceEntry(c.path, order) for order, c in resources),
        preflight=tuple(c.path for c in preflight),
    )
    return manifest, contents, images.documents


def _listing(directory: Path, charts: bool = False) -> list[Path]:
    if not directory.is_dir():
        return []
    found = sorted(directory.iterdir())
    if charts:
        return [p for p in found if p.is_dir() or p.name.endswith(".tgz")]
    return [p for p in found if p.is_file() and p.name.endswith(YAML_SUFFIXES)]


def _yaml_content(path: Path, top: str) -> Content:
    name = f"{top}/{path.name}"
    problem = path_problem(name)
    if problem is not None:
        raise BundleError(f"cannot carry '{path}': {problem}; rename the file")
    try:
        data = path.read_bytes()
        docs = k8syaml.load_all(data)
    except OSError as exc:
        raise BundleError(f"'{path}' is not readable: {exc}") from exc
    except k8syaml.YamlError as exc:
        raise BundleError(
            f"'{path}' is not readable YAML (read as Kubernetes reads it): {exc}"
        ) from exc
    if not all(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs):
        raise BundleError(f"'{path}': every YAML document must be an object with apiVersion, kind")
    return Content.from_bytes(name, data)


def _order(path: Path) -> int:
    match = _ORDER.match(path.name)
    return int(match.group(1)) if match else 0


def _check_unique(contents: list[Content]) -> None:
    seen: set[str] = set()
    for item in contents:
        if item.path in seen:
            raise BundleError(f"two inputs both become '{item.path}' in the bundle")
        seen.add(item.path)
