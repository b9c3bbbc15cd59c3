"""Moving one blob into one repository: mount, monolithic PUT, or resumable chunked PATCHes.

Bytes are streamed from a `BlobOpener` (offset, length → iterator of ≤ 1 MiB chunks), so no
blob is ever held in memory. Blobs up to `monolithic_max` go as POST + one streamed PUT; larger
ones as PATCH chunks, each answered with the next Location, which is journaled with the new
offset before the next chunk starts. A journaled upload is resumed only when the registry's
`GET` on it confirms the offset; otherwise the blob restarts from byte 0. Transient failures
(broken connection, 502/503/504, restarted registry) retry the blob with backoff, resuming
from the journal when possible.

Resume works at chunk granularity: docker-registry 2.8.2 cancels an upload whose stored size
differs from the offset signed into the Location, so a process killed *inside* a PATCH loses
that blob's upload (it restarts from 0; other blobs still resume). Hence interruptions go
through `cancel`, which stops at the next chunk boundary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from airgap.errors import PushCancelledError, RegistryError, UploadStoppedError
from airgap.journal import JournalEntry, UploadJournal
from airgap.plan import BlobStep
from airgap.progress import PushObserver
from airgap.registry import RegistryClient

MIB = 1024 * 1024
BlobOpener = Callable[[int, int], Iterator[bytes]]


@dataclass(frozen=True)
class UploadSettings:
    """Chunking knobs: blobs up to `monolithic_max` bytes go in one PUT."""

    chunk_size: int = 64 * MIB
    monolithic_max: int = 32 * MIB


@dataclass
class BlobUploader:
    """Uploads blobs for one push; safe to call from several worker threads."""

    client: RegistryClient
    journal: UploadJournal
    observer: PushObserver
    settings: UploadSettings = UploadSettings()
    stop: threading.Event = field(default_factory=threading.Event)
    # Set from outside (e.g. a SIGINT handler): uploads stop at their next chunk boundary.
    cancel: threading.Event = field(default_factory=threading.Event)
    _sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bytes_sent(self) -> int:
        """Bytes sent so far."""
        return self._sent

    def push(self, step: BlobStep, open_blob: BlobOpener) -> str:
        """Apply one blob step; returns what was done: exists, mounted, resumed or sent."""
        if step.action == "exists":
            return "exists"
        location = None
        if step.action == "mount" and step.source:
            location = self.client.mount_blob(step.repository, step.digest, step.source)
            if location is None:
                self.observer.blob_finished(step.repository, step.digest, "mounted")
                return "mounted"
        retry = self.client.session.retry
        for attempt in range(retry.attempts):
            try:
                return self._upload(step, open_blob, location)
            except RegistryError as exc:
                if not exc.transient or attempt + 1 == retry.attempts or self.stop.is_set():
                    raise
                self.client.session.sleep(retry.delay(attempt))
                location = None
        raise AssertionError("unreachable")

    def _upload(self, step: BlobStep, open_blob: BlobOpener, location: str | None) -> str:
        key = self.journal.key(self.client.address.netloc, step.repository, step.digest)
        resumed = confirm_resume(self.client, self.journal, key)
        offset = resumed.offset if resumed else 0
        if resumed:
            location = resumed.location
        elif location is None:
            location = self.client.start_upload(step.repository)
        self.observer.blob_started(step.repository, step.digest, step.size, offset)
        what = f"uploading blob {step.digest} to {step.repository}"
        if offset == 0 and step.size <= self.settings.monolithic_max:
            body = self._meter(step.digest, open_blob(0, step.size))
            self.client.finish_upload(location, step.digest, body, step.size, what)
        else:
            self._chunks(step, open_blob, key=key, location=location, offset=offset, what=what)
        self.journal.forget(key)
        self.observer.blob_finished(step.repository, step.digest, "sent")
        return "resumed" if resumed else "sent"

    def _chunks(
        self,
        step: BlobStep,
        open_blob: BlobOpener,
        *,
        key: str,
        location: str,
        offset: int,
        what: str,
    ) -> None:
        while offset < step.size:
            if self.cancel.is_set():
                raise PushCancelledError(
                    f"push interrupted at byte {offset} of {step.digest}; rerun the same command "
                    "to resume from the upload journal"
                )
            if self.stop.is_set():
                raise UploadStoppedError("upload stopped because another upload failed")
            length = min(self.settings.chunk_size, step.size - offset)
            body = self._meter(step.digest, open_blob(offset, length))
            location = self.client.patch_chunk(location, body, offset, length, what)
            offset += length
            self.journal.record(key, location, offset)
            self.observer.chunk_committed(step.repository, step.digest, offset)
        self.client.finish_upload(location, step.digest, None, 0, what)

    def _meter(self, digest: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                self._sent += len(chunk)
            self.observer.bytes_sent(digest, len(chunk))
            yield chunk


def confirm_resume(client: RegistryClient, journal: UploadJournal, key: str) -> JournalEntry | None:
    """The journaled upload for `key` if the registry still holds it at the journaled offset."""
    entry = journal.get(key)
    if entry is None:
        return None
    status = client.upload_status(entry.location)
    # docker-registry 2.8.2 reports `0-0` for both 0 and 1 bytes received: accept either.
    agrees = status is not None and (
        status.end == entry.offset - 1 or (status.end == 0 and entry.offset <= 1)
    )
    if status is None or not agrees:
        journal.forget(key)
        return None
    fresh = JournalEntry(status.location, entry.offset)
    journal.record(key, fresh.location, fresh.offset)
    return fresh
