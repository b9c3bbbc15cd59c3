"""What `outpost bundle apply` will write: content ConfigMaps and the `Bundle` object (pure).

Pure: a verified manifest, its envelopes and what the cluster already holds in; the objects to
create and a printable plan out. Content is stored by digest, one file per ConfigMap named
`outpost-content-<first 40 hex of sha256>`, `immutable: true`, so the same bytes are stored once
however many bundles carry them, and a stored file can never change under a Bundle that points
at it (the agent checks the digest anyway). Only what the agent reads goes into the cluster:
CRDs, resources and chart archives. Limits are checked before anything is written: a ConfigMap
holds at most 1 MiB, so larger files belong in the customer's registry (`outpost airgap import`),
and the Bundle CRD caps its envelopes and content list so a Bundle stays far from etcd's limit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bundle.errors import BundleError
from bundle.lineage import LABEL_CHANNEL, LABEL_PRODUCT, bundle_name
from bundle.manifest import FileEntry, Manifest, VerifiedManifest
from facts.api import API_VERSION, CONTENT_PREFIX
from facts.objects import KubeObject

CONTENT_LABEL = "outpost.dev/content"
CONTENT_KEY = "content"
MAX_CONFIGMAP_FILE = 900 * 1024  # a ConfigMap holds 1 MiB; leave room for metadata
MAX_MANIFEST_ENVELOPE = 524288  # Bundle CRD: signedManifest (about 1,900 content files)
MAX_ENVELOPE = 65536  # Bundle CRD: keyringChain items, downgradePermit
MAX_CHAIN = 16
MAX_CONTENT = 1000


def content_name(sha256: str) -> str:
    """The content ConfigMap's name for a file's sha256."""
    return CONTENT_PREFIX + sha256[:40]


def needed(manifest: Manifest) -> list[FileEntry]:
    """The files the agent reads (CRDs, resources, charts, preflight), once each, in order."""
    paths = [*manifest.crds, *(r.path for r in manifest.resources)]
    paths += [c.path for c in manifest.charts] + list(manifest.preflight)
    return [manifest.file(p) for p in dict.fromkeys(paths)]


def check_fits(
    manifest: Manifest, chain: Sequence[bytes], envelope: bytes, permit: bytes | None
) -> None:
    """Refuse, before any write, a bundle whose content or envelopes the cluster cannot hold."""
    big = [f for f in needed(manifest) if f.size > MAX_CONFIGMAP_FILE]
    if big:
        shown = ", ".join(f"'{f.path}' ({f.size} bytes)" for f in big[:3])
        raise BundleError(
            f"{len(big)} files are larger than {MAX_CONFIGMAP_FILE} bytes and cannot be stored in"
            f" ConfigMaps: {shown}; import this bundle with `outpost airgap import --registry …`,"
            " which keeps large content in your registry"
        )
    count = len(needed(manifest))
    problems = [
        (len(envelope) > MAX_MANIFEST_ENVELOPE, f"the signed manifest is {len(envelope)} bytes"),
        (len(chain) > MAX_CHAIN, f"the keyring chain has {len(chain)} versions (> {MAX_CHAIN})"),
        (any(len(e) > MAX_ENVELOPE for e in chain), "a keyring envelope is too large"),
        (permit is not None and len(permit) > MAX_ENVELOPE, "the downgrade permit is too large"),
        (count > MAX_CONTENT, f"{count} content files (> {MAX_CONTENT})"),
    ]
    for bad, message in problems:
        if bad:
            raise BundleError(
                f"the bundle does not fit a Bundle object: {message} (limits:"
                f" {MAX_MANIFEST_ENVELOPE} bytes of signed manifest, {MAX_ENVELOPE} per other"
                f" envelope, {MAX_CONTENT} files); ask the vendor to split the release"
                " into fewer, larger resource files"
            )


def configmap(entry: FileEntry, data: bytes, namespace: str) -> KubeObject:
    """The immutable, content-addressed ConfigMap that stores one content file."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": content_name(entry.sha256),
            "namespace": namespace,
            "labels": {CONTENT_LABEL: "true"},
            "annotations": {"outpost.dev/sha256": entry.sha256},
        },
        "binaryData": {CONTENT_KEY: base64.b64encode(data).decode()},
        "immutable": True,
    }


def bundle_object(
    verified: VerifiedManifest,
    chain: Sequence[bytes],
    envelope: bytes,
    namespace: str,
    permit: bytes | None = None,
) -> KubeObject:
    """The `Bundle` the agent acts on: envelopes as signed, content by digest and reference."""
    m = verified.manifest
    spec: dict[str, Any] = {
        "product": m.product,
        "channel": m.channel,
        "version": m.version,
        "sequence": m.sequence,
        "manifestDigest": f"sha256:{verified.digest}",
        "signedManifest": envelope.decode(),
        "keyringChain": [e.decode() for e in chain],
        "content": [_content_ref(f, namespace) for f in needed(m)],
    }
    if permit is not None:
        spec["downgradePermit"] = permit.decode()
    labels = {LABEL_PRODUCT: m.product[:63], LABEL_CHANNEL: m.channel[:63]}
    return {
        "apiVersion": API_VERSION,
        "kind": "Bundle",
        "metadata": {"name": bundle_name(m.product, m.channel, m.sequence), "labels": labels},
        "spec": spec,
    }


def _content_ref(entry: FileEntry, namespace: str) -> dict[str, Any]:
    ref = {"namespace": namespace, "name": content_name(entry.sha256), "key": CONTENT_KEY}
    return {"path": entry.path, "sha256": f"sha256:{entry.sha256}", "size": entry.size,
            "configMapRef": ref}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What an apply writes; `--dry-run` prints it and stops."""

    bundle: str
    product: str
    channel: str
    sequence: int
    manifest_digest: str
    decision: str  # rollback.Decision value, or "already-imported"
    namespace: str
    store: tuple[FileEntry, ...] = ()
    stored: tuple[FileEntry, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def noop(self) -> bool:
        """Whether there is nothing to do (the cluster holds this manifest already)."""
        return self.decision == "already-imported"

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON, for `--output json` and `--dry-run`."""
        return {
            "bundle": self.bundle,
            "product": self.product,
            "channel": self.channel,
            "sequence": self.sequence,
            "manifest_sha256": self.manifest_digest,
            "decision": self.decision,
            "namespace": self.namespace,
            "store": [_entry(f) for f in self.store],
            "already_stored": [_entry(f) for f in self.stored],
            "notes": list(self.notes),
        }

    def text(self) -> str:
        """The plan for people, one step a line."""
        if self.noop:
            return f"Bundle {self.bundle} is already imported (same manifest); nothing to do"
        lines = [f"rollback check: {self.decision} ({self.product}/{self.channel} sequence"
                 f" {self.sequence})"]  # fmt: skip
        lines += [f"store {f.path} ({f.size} bytes) as ConfigMap {self.namespace}/"
                  f"{content_name(f.sha256)}" for f in self.store]  # fmt: skip
        lines += [f"already stored: {f.path}" for f in self.stored]
        lines += [f"create Bundle {self.bundle}", *(f"note: {n}" for n in self.notes)]
        return "\n".join(lines)


def _entry(f: FileEntry) -> dict[str, Any]:
    return {"path": f.path, "size": f.size, "configmap": content_name(f.sha256)}


def split_stored(
    files: Iterable[FileEntry], existing: set[str]
) -> tuple[tuple[FileEntry, ...], tuple[FileEntry, ...]]:
    """(to store, already stored) by content ConfigMap name; duplicates by digest stored once."""
    store: dict[str, FileEntry] = {}
    stored: list[FileEntry] = []
    for f in files:
        name = content_name(f.sha256)
        if name in existing:
            stored.append(f)
        else:
            store.setdefault(name, f)
    return tuple(store.values()), tuple(stored)
