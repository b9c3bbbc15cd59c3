"""Push observers: progress reporting and the cancellation hook, behind one small protocol.

`PushObserver` is what `apply_push` calls while it works. `NullObserver` does nothing (tests
subclass it to cancel after N chunks); `RichObserver` draws rich progress bars with bytes and
rates on stderr. Observers may be called from several upload threads at once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class PushObserver(Protocol):
    """Callbacks during a push; raising from `chunk_committed` cancels the push."""

    def blob_started(self, repo: str, digest: str, size: int, offset: int) -> None:
        """A blob upload started (at `offset` when resumed)."""

    def bytes_sent(self, digest: str, count: int) -> None:
        """`count` more bytes of `digest` were sent."""

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        """The registry committed a chunk up to `offset`."""

    def blob_finished(self, repo: str, digest: str, action: str) -> None:
        """A blob is in the registry; `action` says how (exists, mounted, resumed, sent)."""

    def manifest_pushed(self, repo: str, reference: str) -> None:
        """A manifest was pushed under `reference`."""


class NullObserver:
    """Observes nothing."""

    def blob_started(self, repo: str, digest: str, size: int, offset: int) -> None:
        """Ignore it."""
        return None

    def bytes_sent(self, digest: str, count: int) -> None:
        """Ignore it."""
        return None

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        """Ignore it."""
        return None

    def blob_finished(self, repo: str, digest: str, action: str) -> None:
        """Ignore it."""
        return None

    def manifest_pushed(self, repo: str, reference: str) -> None:
        """Ignore it."""
        return None


class RichObserver(NullObserver):
    """One bar for the total and one per blob in flight; use as a context manager."""

    def __init__(self, total_bytes: int, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._total = self._progress.add_task("total", total=total_bytes)
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichObserver:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def blob_started(self, repo: str, digest: str, size: int, offset: int) -> None:
        """Add a progress bar for the blob."""
        label = f"{repo.rsplit('/', 1)[-1]} {digest[7:19]}"
        self._tasks[digest] = self._progress.add_task(label, total=size, completed=offset)

    def bytes_sent(self, digest: str, count: int) -> None:
        """Advance the blob's bar and the total."""
        task = self._tasks.get(digest)
        if task is not None:
            self._progress.advance(task, count)
        self._progress.advance(self._total, count)

    def blob_finished(self, repo: str, digest: str, action: str) -> None:
        """Remove the blob's bar."""
        task = self._tasks.pop(digest, None)
        if task is not None:
            self._progress.remove_task(task)
