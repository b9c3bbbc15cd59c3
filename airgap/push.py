"""Pushing a verified OCI layout: gather the registry's inventory, plan, apply, summarise.

`plan_push(graph, client, journal)` does the read-only I/O (HEAD per blob and manifest, GET per
journaled upload) and hands the result to the pure `plan.plan_from_inventory`.
`apply_push(plan, client, …)` executes the plan repository by repository — blobs in parallel
worker threads, then manifests children first — and returns a `PushSummary`.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from airgap.journal import UploadJournal
from airgap.layout import LayoutGraph, blob_path, iter_file
from airgap.plan import BlobStep, Inventory, PushPlan, RepoPlan, plan_from_inventory, targets
from airgap.progress import NullObserver, PushObserver
from airgap.registry import RegistryClient
from airgap.upload import BlobOpener, BlobUploader, UploadSettings, confirm_resume

DEFAULT_WORKERS = 3


@dataclass(frozen=True)
class PushSummary:
    """What a push did."""

    blobs_sent: int
    blobs_resumed: int
    blobs_mounted: int
    blobs_skipped: int
    bytes_sent: int
    manifests_pushed: int
    manifests_skipped: int
    images: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "blobsSent": self.blobs_sent, "blobsResumed": self.blobs_resumed,
            "blobsMounted": self.blobs_mounted, "blobsSkipped": self.blobs_skipped,
            "bytesSent": self.bytes_sent, "manifestsPushed": self.manifests_pushed,
            "manifestsSkipped": self.manifests_skipped,
            "images": [{"source": s, "target": t} for s, t in self.images],
        }


def gather_inventory(graph: LayoutGraph, client: RegistryClient,
                     journal: UploadJournal) -> Inventory:
    """HEAD every blob and manifest the layout needs, per target repository."""
    blobs: dict[str, set[str]] = {}
    manifests: dict[str, set[str]] = {}
    tags: dict[tuple[str, str], str] = {}
    uploads: dict[tuple[str, str], int] = {}
    for target in targets(graph, client.address):
        repo = target.repository
        have = blobs.setdefault(repo, set())
        for blob in target.blobs:
            if blob.digest in have or client.blob_exists(repo, blob.digest):
                have.add(blob.digest)
                continue
            entry = confirm_resume(client, journal, journal.key(client.address.netloc, repo,
                                                                blob.digest))
            if entry is not None:
                uploads[(repo, blob.digest)] = entry.offset
        for node in target.manifests:
            if client.manifest_digest(repo, node.descriptor.digest) is not None:
                manifests.setdefault(repo, set()).add(node.descriptor.digest)
        if target.tag and (found := client.manifest_digest(repo, target.tag)):
            tags[(repo, target.tag)] = found
    return Inventory({r: frozenset(d) for r, d in blobs.items()},
                     {r: frozenset(d) for r, d in manifests.items()}, tags, uploads)


def plan_push(graph: LayoutGraph, client: RegistryClient,
              journal: UploadJournal | None = None) -> PushPlan:
    """Gather the inventory (read-only requests) and compute the plan."""
    inventory = gather_inventory(graph, client, journal or UploadJournal(None))
    return plan_from_inventory(graph, client.address, inventory)


def apply_push(plan: PushPlan, client: RegistryClient, *, journal: UploadJournal | None = None,
               observer: PushObserver | None = None, settings: UploadSettings = UploadSettings(),
               workers: int = DEFAULT_WORKERS) -> PushSummary:
    """Execute `plan`; raises the first RegistryError (other uploads stop at a chunk boundary)."""
    observer = observer or NullObserver()
    uploader = BlobUploader(client, journal or UploadJournal(None), observer, settings)
    outcomes: list[str] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blob") as pool:
        for repo_plan in plan.repositories:
            outcomes += _push_blobs(pool, uploader, repo_plan, plan)
            _push_manifests(repo_plan, client, observer)
    pushed = sum(1 for m in plan.manifest_steps if not m.exists)
    return PushSummary(
        blobs_sent=outcomes.count("sent") + outcomes.count("resumed"),
        blobs_resumed=outcomes.count("resumed"), blobs_mounted=outcomes.count("mounted"),
        blobs_skipped=outcomes.count("exists"), bytes_sent=uploader.bytes_sent,
        manifests_pushed=pushed, manifests_skipped=len(plan.manifest_steps) - pushed,
        images=plan.images)


def _push_blobs(pool: ThreadPoolExecutor, uploader: BlobUploader, repo_plan: RepoPlan,
                plan: PushPlan) -> list[str]:
    futures: list[Future[str]] = [
        pool.submit(uploader.push, step, layout_opener(plan, step)) for step in repo_plan.blobs
    ]
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    if any(f.exception() for f in done):
        uploader.stop.set()
        wait(futures)
    for future in futures:
        future.result()  # re-raises the first failure in plan order
    return [f.result() for f in futures]


def _push_manifests(repo_plan: RepoPlan, client: RegistryClient, observer: PushObserver) -> None:
    for step in repo_plan.manifests:
        if step.exists:
            continue
        client.put_manifest(step.repository, step.reference, step.media_type, step.raw, step.digest)
        observer.manifest_pushed(step.repository, step.reference)


def layout_opener(plan: PushPlan, step: BlobStep) -> BlobOpener:
    """Stream a blob file of the plan's layout from an offset."""
    path = blob_path(plan.layout, step.digest)

    def open_blob(offset: int, length: int) -> Iterator[bytes]:
        return iter_file(path, offset, step.digest, limit=length)

    return open_blob
