"""The push plan: what already exists, what is mounted, resumed or uploaded, and how many bytes.

Pure (pip-tools `diff` shape): a verified `LayoutGraph`, the registry address and an
`Inventory` (gathered elsewhere by HEAD/GET requests) in, a `PushPlan` out. `--dry-run` prints
this plan and the push applies exactly it, so the plan is also the tests' oracle.

Per target repository, blobs are decided in this order of preference: already there (skip),
mountable from another repository of the same registry (0 bytes), a journaled upload the
registry still holds (resume from its offset), else a fresh upload. Manifests go children
first, the top-level one by tag when the source reference has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from airgap.graph import ImageEntry, LayoutGraph, ManifestNode
from airgap.oci import Descriptor
from refs.address import RegistryAddress
from refs.relocation import parse_reference, relocate, target_repository

BlobAction = Literal["exists", "mount", "resume", "upload"]


@dataclass(frozen=True)
class Target:
    """One image of the layout and where it goes."""

    image: ImageEntry
    repository: str
    tag: str | None
    blobs: tuple[Descriptor, ...]
    manifests: tuple[ManifestNode, ...]


@dataclass(frozen=True)
class Inventory:
    """What the registry already holds, restricted to what the layout needs."""

    blobs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    manifests: Mapping[str, frozenset[str]] = field(default_factory=dict)
    tags: Mapping[tuple[str, str], str] = field(default_factory=dict)
    uploads: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class BlobStep:
    repository: str
    digest: str
    size: int
    action: BlobAction
    source: str | None = None
    offset: int = 0

    @property
    def bytes_to_send(self) -> int:
        """Bytes this step sends (0 for blobs already there or mounted)."""
        return self.size - self.offset if self.action in ("upload", "resume") else 0


@dataclass(frozen=True)
class ManifestStep:
    repository: str
    digest: str
    media_type: str
    reference: str
    exists: bool
    raw: bytes = field(repr=False, compare=False)
    subject: str | None = None  # a referrer: pushed after its subject, then indexed under it


@dataclass(frozen=True)
class RepoPlan:
    repository: str
    blobs: tuple[BlobStep, ...]
    manifests: tuple[ManifestStep, ...]


@dataclass(frozen=True)
class PushPlan:
    """Ordered work per repository; repositories are applied in order (mount sources first)."""

    registry: str
    layout: Path
    repositories: tuple[RepoPlan, ...]
    images: tuple[tuple[str, str], ...]
    # (repository, digest) a delta leaves to its base that the registry does not hold: the
    # import refuses to push anything while this is not empty.
    missing: tuple[tuple[str, str], ...] = ()

    @property
    def blob_steps(self) -> list[BlobStep]:
        """Every blob step, repository by repository."""
        return [step for repo in self.repositories for step in repo.blobs]

    @property
    def manifest_steps(self) -> list[ManifestStep]:
        """Every manifest step, repository by repository."""
        return [step for repo in self.repositories for step in repo.manifests]

    @property
    def bytes_to_send(self) -> int:
        """Bytes the whole plan sends."""
        return sum(step.bytes_to_send for step in self.blob_steps)

    def count(self, action: BlobAction) -> int:
        """How many blob steps take `action`."""
        return sum(1 for step in self.blob_steps if step.action == action)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON."""
        return {
            "registry": self.registry,
            "images": [{"source": s, "target": t} for s, t in self.images],
            "blobs": {a: self.count(a) for a in ("exists", "mount", "resume", "upload")},
            "bytesToSend": self.bytes_to_send,
            "manifestsToPush": sum(1 for m in self.manifest_steps if not m.exists),
            "missingFromBase": [{"repository": r, "digest": d} for r, d in self.missing],
            "steps": [_blob_dict(s) for s in self.blob_steps]
            + [_manifest_dict(m) for m in self.manifest_steps],
        }


def targets(graph: LayoutGraph, registry: RegistryAddress) -> list[Target]:
    """The layout's images with their target repository and tag, in index.json order."""
    result = []
    for image in graph.images:
        ref = parse_reference(image.ref_name)
        tag = ref.tag if ref else None
        blobs, manifests = graph.closure(image)
        repository = target_repository(image.ref_name, registry)
        result.append(Target(image, repository, tag, tuple(blobs), tuple(manifests)))
    return result


def plan_from_inventory(
    graph: LayoutGraph, registry: RegistryAddress, inventory: Inventory
) -> PushPlan:
    """Decide every blob and manifest step; see the module docstring for the rules."""
    will_hold: dict[str, list[str]] = {}
    for repo, digests in inventory.blobs.items():
        for digest in digests:
            will_hold.setdefault(digest, []).append(repo)
    repos: dict[str, tuple[dict[str, BlobStep], dict[str, ManifestStep]]] = {}
    images = []
    for target in targets(graph, registry):
        blob_steps, manifest_steps = repos.setdefault(target.repository, ({}, {}))
        for blob in target.blobs:
            if blob.digest not in blob_steps:
                blob_steps[blob.digest] = _blob_step(target.repository, blob, inventory, will_hold)
                will_hold.setdefault(blob.digest, []).append(target.repository)
        for step in _manifest_steps(target, inventory):
            manifest_steps.setdefault(step.reference, step)
        images.append(
            (
                target.image.ref_name,
                relocate(target.image.ref_name, target.image.root.digest, registry),
            )
        )
    plans = tuple(RepoPlan(r, tuple(b.values()), tuple(m.values())) for r, (b, m) in repos.items())
    missing = tuple(
        (s.repository, s.digest)
        for plan in plans
        for s in plan.blobs
        if s.digest in graph.absent and s.action in ("upload", "resume")
    )
    return PushPlan(str(registry), graph.root, plans, tuple(images), missing)


def _blob_step(
    repo: str, blob: Descriptor, inventory: Inventory, will_hold: Mapping[str, list[str]]
) -> BlobStep:
    if blob.digest in inventory.blobs.get(repo, frozenset()):
        return BlobStep(repo, blob.digest, blob.size, "exists")
    sources = [source for source in will_hold.get(blob.digest, []) if source != repo]
    if sources:
        return BlobStep(repo, blob.digest, blob.size, "mount", source=sources[0])
    offset = inventory.uploads.get((repo, blob.digest))
    if offset is not None and 0 < offset < blob.size:
        return BlobStep(repo, blob.digest, blob.size, "resume", offset=offset)
    return BlobStep(repo, blob.digest, blob.size, "upload")


def _manifest_steps(target: Target, inventory: Inventory) -> list[ManifestStep]:
    present = inventory.manifests.get(target.repository, frozenset())
    steps = []
    for node in target.manifests:
        desc = node.descriptor
        is_root = desc.digest == target.image.root.digest
        if is_root and target.tag:
            exists = inventory.tags.get((target.repository, target.tag)) == desc.digest
            reference = target.tag
        else:
            exists, reference = desc.digest in present, desc.digest
        steps.append(
            ManifestStep(
                target.repository,
                desc.digest,
                desc.media_type,
                reference,
                exists,
                node.raw,
                node.subject,
            )
        )
    return steps


def _blob_dict(step: BlobStep) -> dict[str, Any]:
    return {
        "kind": "blob",
        "repository": step.repository,
        "digest": step.digest,
        "size": step.size,
        "action": step.action,
        "source": step.source,
        "offset": step.offset,
        "bytesToSend": step.bytes_to_send,
    }


def _manifest_dict(step: ManifestStep) -> dict[str, Any]:
    return {
        "kind": "manifest",
        "repository": step.repository,
        "digest": step.digest,
        "reference": step.reference,
        "mediaType": step.media_type,
        "action": "exists" if step.exists else "put",
    }


def render_plan(plan: PushPlan) -> str:
    """Human-readable plan for `--dry-run`."""
    lines = [f"push plan for {plan.registry}:"]
    for source, target in plan.images:
        lines.append(f"  image {source} -> {target}")
    for step in plan.blob_steps:
        extra = f" from {step.source}" if step.source else ""
        extra += f" at offset {step.offset}" if step.action == "resume" else ""
        lines.append(
            f"  blob {step.action:<6} {step.repository} {step.digest[:19]} {step.size} B{extra}"
        )
    for m in plan.manifest_steps:
        ref = f"@{m.reference}" if m.reference.startswith("sha256:") else f":{m.reference}"
        lines.append(f"  manifest {'exists' if m.exists else 'put':<6} {m.repository}{ref}")
    lines += [f"  MISSING {repo}@{digest} (left to the base)" for repo, digest in plan.missing]
    lines.append(
        f"blobs: {plan.count('exists')} exist, {plan.count('mount')} mount, "
        f"{plan.count('resume')} resume, {plan.count('upload')} upload; "
        f"{plan.bytes_to_send} bytes to send"
    )
    return "\n".join(lines)
