"""Pushing a verified OCI layout: gather the registry's inventory, plan, apply, summarise.

`plan_push(graph, client, journal)` does the read-only I/O (HEAD per blob and manifest, GET per
journaled upload) and hands the result to the pure `plan.plan_from_inventory`.
`apply_push(plan, client, …)` executes it: every blob queued at once on worker threads, largest
first, a mount after its source's upload; each repository's manifests, children first, as soon
as its blobs are in. It returns a `PushSummary`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from airgap.errors import RepositoryMissingError, UploadStoppedError
from airgap.graph import LayoutGraph, blob_path
from airgap.journal import UploadJournal
from airgap.layout import iter_file
from airgap.oci import OCI_INDEX
from airgap.plan import (
    BlobStep,
    Inventory,
    ManifestStep,
    PushPlan,
    RepoPlan,
    plan_from_inventory,
    targets,
)
from airgap.progress import NullObserver, PushObserver
from airgap.referrers import fallback_tag, referrer_descriptor, with_referrer
from airgap.registry import RegistryClient
from airgap.upload import (
    BlobOpener,
    BlobUploader,
    UploadSettings,
    confirm_resume,
)

DEFAULT_WORKERS = 3
BlobKey = tuple[str, str]


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
        """The push summary as JSON."""
        return {
            "blobsSent": self.blobs_sent,
            "blobsResumed": self.blobs_resumed,
            "blobsMounted": self.blobs_mounted,
            "blobsSkipped": self.blobs_skipped,
            "bytesSent": self.bytes_sent,
            "manifestsPushed": self.manifests_pushed,
            "manifestsSkipped": self.manifests_skipped,
            "images": [{"source": s, "target": t} for s, t in self.images],
        }

    def describe(self) -> str:
        """Human-readable summary lines."""
        lines = [f"pushed {source} as {target}" for source, target in self.images]
        lines.append(
            f"blobs: {self.blobs_sent} sent ({self.blobs_resumed} resumed), {self.blobs_mounted} "
            f"mounted, {self.blobs_skipped} already present; {self.bytes_sent} bytes sent; "
            f"{self.manifests_pushed} manifests pushed"
        )
        return "\n".join(lines)


def gather_inventory(
    graph: LayoutGraph, client: RegistryClient, journal: UploadJournal, workers: int = 8
) -> Inventory:
    """HEAD every blob and manifest the layout needs per target repository (in parallel)."""
    found = targets(graph, client.address)
    blob_keys = list(dict.fromkeys((t.repository, b.digest) for t in found for b in t.blobs))
    manifest_keys = list(
        dict.fromkeys(
            [(t.repository, n.descriptor.digest) for t in found for n in t.manifests]
            + [(t.repository, t.tag) for t in found if t.tag]
        )
    )
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="head") as pool:
        present = list(pool.map(lambda key: client.blob_exists(*key), blob_keys))
        served = list(pool.map(lambda key: client.manifest_digest(*key), manifest_keys))
    blobs: dict[str, set[str]] = {t.repository: set() for t in found}
    uploads: dict[BlobKey, int] = {}
    for (repo, digest), exists in zip(blob_keys, present, strict=True):
        if exists:
            blobs[repo].add(digest)
        elif entry := confirm_resume(
            client, journal, journal.key(client.address.netloc, repo, digest)
        ):
            uploads[(repo, digest)] = entry.offset
    manifests, tags = _sort_manifests(manifest_keys, served)
    return Inventory({r: frozenset(d) for r, d in blobs.items()}, manifests, tags, uploads)


def _sort_manifests(
    keys: list[tuple[str, str]], served: list[str | None]
) -> tuple[dict[str, frozenset[str]], dict[tuple[str, str], str]]:
    """Split HEAD results into manifests present by digest and tags with their digest."""
    by_digest: dict[str, set[str]] = {}
    tags: dict[tuple[str, str], str] = {}
    for (repo, reference), digest in zip(keys, served, strict=True):
        if digest and reference.startswith("sha256:"):
            by_digest.setdefault(repo, set()).add(reference)
        elif digest:
            tags[(repo, reference)] = digest
    return {r: frozenset(d) for r, d in by_digest.items()}, tags


def plan_push(
    graph: LayoutGraph, client: RegistryClient, journal: UploadJournal | None = None
) -> PushPlan:
    """Gather the inventory (read-only requests) and compute the plan."""
    inventory = gather_inventory(graph, client, journal or UploadJournal(None))
    return plan_from_inventory(graph, client.address, inventory)


def apply_push(
    plan: PushPlan,
    client: RegistryClient,
    *,
    journal: UploadJournal | None = None,
    observer: PushObserver | None = None,
    settings: UploadSettings | None = None,
    workers: int = DEFAULT_WORKERS,
    cancel: threading.Event | None = None,
    check: bool = True,
) -> PushSummary:
    """Execute `plan`; raises the first failure (other uploads stop at a chunk boundary).

    Setting `cancel` stops chunked uploads at their next chunk boundary, journaled, so the
    next run resumes them (raises PushCancelledError). `check=False` skips the probe of
    `check_repositories` (the caller did it already).

    All blobs are queued at once, largest first, so small repositories do not wait behind a
    big layer; a mount waits for its source's upload. Each repository's manifests go up as
    soon as its blobs are in.
    """
    if check:
        check_repositories(plan, client)
    observer = observer or NullObserver()
    uploader = BlobUploader(
        client, journal or UploadJournal(None), observer, settings or UploadSettings()
    )
    uploader.cancel = cancel or uploader.cancel
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blob") as pool:
        futures = _submit_blobs(pool, uploader, plan)
        try:
            for repo_plan in plan.repositories:
                mine = [futures[(repo_plan.repository, step.digest)] for step in repo_plan.blobs]
                _wait_or_raise(mine, list(futures.values()), uploader)
                _push_manifests(repo_plan, client, observer)
        except BaseException:
            uploader.stop.set()  # chunked uploads in flight stop at their next boundary
            raise
    outcomes = [future.result() for future in futures.values()]
    pushed = sum(1 for m in plan.manifest_steps if not m.exists)
    return PushSummary(
        blobs_sent=outcomes.count("sent") + outcomes.count("resumed"),
        blobs_resumed=outcomes.count("resumed"),
        blobs_mounted=outcomes.count("mounted"),
        blobs_skipped=outcomes.count("exists"),
        bytes_sent=uploader.bytes_sent,
        manifests_pushed=pushed,
        manifests_skipped=len(plan.manifest_steps) - pushed,
        images=plan.images,
    )


def check_repositories(
    plan: PushPlan | None, client: RegistryClient, extra: Sequence[str] = (), workers: int = 4
) -> None:
    """Refuse, before sending anything, when repositories that get content do not exist and
    the registry does not create them on push; name every one of them. `extra`: more
    repositories that will get content (e.g. charts)."""
    busy = [
        r.repository
        for r in (plan.repositories if plan else ())
        if any(b.action != "exists" for b in r.blobs) or any(not m.exists for m in r.manifests)
    ]
    busy = list(dict.fromkeys([*busy, *extra]))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        accepted = list(pool.map(client.accepts_push, busy))
    missing = [repo for repo, ok in zip(busy, accepted, strict=True) if not ok]
    if missing:
        raise RepositoryMissingError(
            f"registry {client.address.netloc} does not create repositories on push; create"
            f" these first, then rerun: {', '.join(missing)} (nothing was pushed)"
        )


def _submit_blobs(
    pool: ThreadPoolExecutor, uploader: BlobUploader, plan: PushPlan
) -> dict[BlobKey, Future[str]]:
    # The pool runs tasks in submission order, so a mount only ever waits for a task that
    # has already started: no deadlock however few workers there are.
    steps = plan.blob_steps
    direct = sorted((s for s in steps if s.action != "mount"), key=lambda s: -s.bytes_to_send)
    futures: dict[BlobKey, Future[str]] = {}
    for step in direct:
        futures[(step.repository, step.digest)] = pool.submit(
            uploader.push, step, layout_opener(plan, step)
        )
    for step in (s for s in steps if s.action == "mount"):
        source = futures.get((step.source or "", step.digest))
        futures[(step.repository, step.digest)] = pool.submit(
            _after, source, uploader, step, layout_opener(plan, step)
        )
    return futures


def _after(
    source: Future[str] | None, uploader: BlobUploader, step: BlobStep, opener: BlobOpener
) -> str:
    if source is not None and source.exception() is not None:
        raise UploadStoppedError(f"not mounting {step.digest}: its source upload failed")
    return uploader.push(step, opener)


def _wait_or_raise(
    mine: list[Future[str]], everything: list[Future[str]], uploader: BlobUploader
) -> None:
    done, _ = wait(mine, return_when=FIRST_EXCEPTION)
    if not any(f.exception() for f in done):
        return
    uploader.stop.set()
    wait(everything)
    errors = [e for f in everything if (e := f.exception()) is not None]
    # Uploads stopped because of another failure are noise: raise the cause.
    raise next((e for e in errors if not isinstance(e, UploadStoppedError)), errors[0])


def _push_manifests(repo_plan: RepoPlan, client: RegistryClient, observer: PushObserver) -> None:
    for step in repo_plan.manifests:
        indexed = False
        if not step.exists:
            indexed = client.put_manifest(
                step.repository, step.reference, step.media_type, step.raw, step.digest
            )
            observer.manifest_pushed(step.repository, step.reference)
        if step.subject is not None and not indexed:
            record_referrer(client, step, step.subject)


def record_referrer(client: RegistryClient, step: ManifestStep, subject: str) -> None:
    """Make a pushed referrer findable: by the referrers API if the registry has one, else
    in the fallback index tagged `sha256-<hex>` (read, add, write back)."""
    listed = client.referrers_list(step.repository, subject)
    if listed is not None and step.digest in listed:
        return
    tag = fallback_tag(subject)
    existing = client.get_manifest(step.repository, tag)
    updated = with_referrer(existing, referrer_descriptor(step.digest, step.media_type, step.raw))
    if updated is not None:
        digest = "sha256:" + hashlib.sha256(updated).hexdigest()
        client.put_manifest(step.repository, tag, OCI_INDEX, updated, digest)


def layout_opener(plan: PushPlan, step: BlobStep) -> BlobOpener:
    """Stream a blob file of the plan's layout from an offset."""
    path = blob_path(plan.layout, step.digest)

    def open_blob(offset: int, length: int) -> Iterator[bytes]:
        return iter_file(path, offset, step.digest, limit=length)

    return open_blob
