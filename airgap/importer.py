"""`outpost airgap import`: verify a bundle, push its images and charts, hand it to the cluster.

Order, cheapest refusal first: the signed manifest is verified and the anti-rollback rule
checked against the cluster (`Handoff.admit`) before any content is read; then the whole
bundle is streamed into a private staging directory and verified (sha256 of every file, the
OCI graph); only then does anything reach the registry (blobs HEADed, then sent, mounted or
resumed; charts as OCI artifacts); the `Bundle` resource is created last, so a failed push
leaves nothing in the cluster. A second import finds everything present and sends 0 bytes.

I/O: the bundle file, a private temporary directory (removed at the end), the registry through
`RegistryClient`, the cluster through `Handoff` (implemented by `bundle.handoff`, the same
handoff as `bundle apply`, so this package never imports a Kubernetes client itself).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from airgap.charts import ChartPush, chart_artifact, chart_metadata, push_chart
from airgap.errors import BaseMissingError
from airgap.importreport import ChartStep, ImportPlan, ImportSummary
from airgap.journal import UploadJournal
from airgap.layout import read_layout
from airgap.plan import PushPlan
from airgap.progress import NullObserver, PushObserver, RichObserver
from airgap.push import PushSummary, apply_push, check_repositories, plan_push
from airgap.registry import RegistryClient
from airgap.upload import UploadSettings
from bundle.delta import base_blob_digests
from bundle.keyring import Keyring
from bundle.manifest import VerifiedManifest
from bundle.verify import Verified, verify_bundle


class ClusterPlan(Protocol):
    """What handing the bundle to the cluster would do (printed by `--dry-run`)."""

    @property
    def bundle(self) -> str:
        """The Bundle's name."""

    @property
    def creates(self) -> bool:
        """Whether the handoff creates a Bundle."""

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON."""

    def text(self) -> str:
        """The plan for people."""


class Handoff(Protocol):
    """The cluster side of an import (see `bundle.handoff`)."""

    def admit(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
        """Refuse (raise) a bundle the anti-rollback rule forbids."""

    def plan(self, verified: Verified, registry: str) -> ClusterPlan:
        """What the cluster side would write; writes nothing."""

    def apply(self, verified: Verified, registry: str) -> ClusterPlan:
        """Store the content and create the Bundle, with `spec.registry` set."""


@dataclass(frozen=True)
class ImportRequest:
    bundle: Path
    trust_root: bytes
    now: datetime
    journal: UploadJournal
    settings: UploadSettings = field(default_factory=UploadSettings)
    workers: int = 3
    progress: bool = False


def import_bundle(
    request: ImportRequest,
    client: RegistryClient,
    handoff: Handoff,
    *,
    dry_run: bool = False,
    cancel: threading.Event | None = None,
    verify_progress: Callable[[int], None] | None = None,
) -> ImportPlan | ImportSummary:
    """Verify, plan, and (unless `dry_run`) push and hand over; see the module docstring."""
    with private_workdir() as work:
        verified = verify_bundle(
            request.bundle,
            request.trust_root,
            request.now,
            staging=work / "content",
            progress=verify_progress,
            admit=handoff.admit,
        )
        absent = base_blob_digests(verified.manifest)
        push = plan_images(work / "content", client, request.journal, absent)
        charts = tuple(chart_step(tgz, client) for tgz in chart_files(work / "content"))
        registry = str(client.address)
        missing = missing_from_base(verified, push, client)
        if missing and not dry_run:
            raise BaseMissingError(
                f"the delta bundle leaves {len(missing)} items to its base that registry"
                f" {client.address.netloc} does not hold: {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}; nothing was pushed — import the base"
                " bundle into this registry again, or import the full bundle"
            )
        if dry_run:
            cluster = handoff.plan(verified, registry)
            return ImportPlan(describe(verified), push, charts, cluster.to_dict(), cluster.text())
        images, pushed, chart_bytes = send(
            request, client, push, charts, work / "content", cancel=cancel
        )
        result = handoff.apply(verified, registry)
    return ImportSummary(
        describe(verified), images, pushed, chart_bytes, result.bundle, registry, result.creates
    )


def send(
    request: ImportRequest,
    client: RegistryClient,
    push: PushPlan | None,
    charts: tuple[ChartStep, ...],
    content: Path,
    *,
    cancel: threading.Event | None,
) -> tuple[PushSummary | None, tuple[ChartPush, ...], int]:
    """Push the images (as planned) then the charts, with progress bars over both."""
    prefix = f"oci://{client.address.netloc}/"
    check_repositories(push, client, [c.url.removeprefix(prefix) for c in charts if not c.exists])
    total = (push.bytes_to_send if push else 0) + sum(c.bytes_to_send for c in charts)
    bars: AbstractContextManager[PushObserver | None] = (
        RichObserver(total) if request.progress and total else nullcontext(None)
    )
    with bars as active:
        counter = ByteCounter(active)
        images = None
        if push is not None:
            images = apply_push(
                push, client, journal=request.journal, observer=counter,
                settings=request.settings, workers=request.workers, cancel=cancel, check=False,
            )  # fmt: skip
        pushed = push_charts(content, client, request.journal, counter)
    return images, pushed, counter.sent - (images.bytes_sent if images else 0)


def plan_images(
    content: Path,
    client: RegistryClient,
    journal: UploadJournal,
    absent: frozenset[str] = frozenset(),
) -> PushPlan | None:
    """The push plan of the staged `images/` layout (re-checked blob by blob), or None.

    `absent`: the blobs a delta leaves to its base (HEADed, never sent).
    """
    images = content / "images"
    if not (images / "index.json").is_file():
        return None
    return plan_push(read_layout(images, absent), client, journal)


def missing_from_base(
    verified: Verified, push: PushPlan | None, client: RegistryClient
) -> list[str]:
    """What a delta leaves to its base and the registry lacks: blobs, then chart artifacts."""
    found = [f"{repo}@{digest}" for repo, digest in (push.missing if push else ())]
    m = verified.manifest
    for chart in (c for c in m.charts if m.file(c.path).in_base):
        repo = client.address.repository(f"charts/{chart.name}")
        tag = chart.version.replace("+", "_")
        if client.manifest_digest(repo, tag) is None:
            found.append(f"{repo}:{tag} (chart)")
    return found


def chart_files(content: Path) -> list[Path]:
    """The chart archives among the verified content."""
    return sorted((content / "charts").glob("*.tgz"))


def chart_step(tgz: Path, client: RegistryClient) -> ChartStep:
    """Whether a chart's artifact is already in the registry, by tag and manifest digest."""
    meta = chart_metadata(tgz)
    repo = client.address.repository(f"charts/{meta['name']}")
    tag = str(meta["version"]).replace("+", "_")
    config, layer, manifest = chart_artifact(tgz, meta)
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    exists = client.manifest_digest(repo, tag) == digest
    size = 0 if exists else len(config) + layer.size
    url = f"oci://{client.address.netloc}/{repo}"
    return ChartStep(str(meta["name"]), str(meta["version"]), url, digest, exists, size)


def push_charts(
    content: Path, client: RegistryClient, journal: UploadJournal, observer: PushObserver
) -> tuple[ChartPush, ...]:
    """Push every chart of the verified content as an OCI artifact."""
    return tuple(
        push_chart(tgz, client, journal=journal, observer=observer) for tgz in chart_files(content)
    )


def describe(verified: Verified) -> dict[str, Any]:
    """The verified bundle's identity, for reports."""
    m = verified.manifest
    return {
        "path": str(verified.path),
        "product": m.product,
        "channel": m.channel,
        "version": m.version,
        "sequence": m.sequence,
        "manifestDigest": f"sha256:{verified.verified.digest}",
    }


class ByteCounter(NullObserver):
    """Counts bytes sent (images and charts alike) and forwards to the progress bars."""

    def __init__(self, inner: PushObserver | None) -> None:
        self.inner = inner or NullObserver()
        self.sent = 0
        self._lock = threading.Lock()

    def blob_started(self, repo: str, digest: str, size: int, offset: int) -> None:
        """Pass on: a blob upload started (at `offset` when resumed)."""
        self.inner.blob_started(repo, digest, size, offset)

    def bytes_sent(self, digest: str, count: int) -> None:
        """Count the bytes, then pass them on."""
        with self._lock:
            self.sent += count
        self.inner.bytes_sent(digest, count)

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        """Pass on: a chunk was committed by the registry."""
        self.inner.chunk_committed(repo, digest, offset)

    def blob_finished(self, repo: str, digest: str, action: str) -> None:
        """Pass on: a blob is in the registry (`action` says how)."""
        self.inner.blob_finished(repo, digest, action)

    def manifest_pushed(self, repo: str, reference: str) -> None:
        """Pass on: a manifest was pushed."""
        self.inner.manifest_pushed(repo, reference)


@contextmanager
def private_workdir() -> Iterator[Path]:
    """A fresh 0700 directory (under $TMPDIR) for the staged bundle; always removed."""
    work = Path(tempfile.mkdtemp(prefix="outpost-import-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
