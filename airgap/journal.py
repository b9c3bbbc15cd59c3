"""The upload journal: for each chunked upload in flight, its latest Location and offset.

A small JSON file, rewritten atomically (temp file + rename, mode 0600) after every committed
chunk, so a push killed mid-blob resumes on the next run where the registry says it stopped.
Entries are keyed by registry, repository and digest; an entry is dropped once the blob is
complete. `UploadJournal(None)` keeps the journal in memory only (resume within one run).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from airgap.errors import AirgapError

JOURNAL_NAME = "airgap-upload-journal.json"


@dataclass(frozen=True)
class JournalEntry:
    location: str
    offset: int


def default_journal_path(environ: dict[str, str] | os._Environ[str]) -> Path:
    """`$XDG_STATE_HOME/outpost/…`, else `~/.local/state/outpost/…`."""
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "outpost" / JOURNAL_NAME


class UploadJournal:
    """Thread-safe map (registry, repository, digest) → JournalEntry, persisted on change."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, JournalEntry] = self._load() if path else {}

    @staticmethod
    def key(registry: str, repo: str, digest: str) -> str:
        """The journal key of one blob upload."""
        return f"{registry}/{repo}@{digest}"

    def get(self, key: str) -> JournalEntry | None:
        """The recorded upload of `key`, if any."""
        with self._lock:
            return self._entries.get(key)

    def record(self, key: str, location: str, offset: int) -> None:
        """Record where an upload stands (saved at once, so a crash loses nothing)."""
        with self._lock:
            self._entries[key] = JournalEntry(location, offset)
            self._save()

    def forget(self, key: str) -> None:
        """Drop a finished or abandoned upload."""
        with self._lock:
            if self._entries.pop(key, None) is not None:
                self._save()

    def _load(self) -> dict[str, JournalEntry]:
        assert self.path is not None
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise AirgapError(
                f"upload journal {self.path} is unreadable ({exc}): delete it to "
                "restart interrupted uploads from the beginning"
            ) from exc
        entries = raw.get("uploads", {}) if isinstance(raw, dict) else {}
        return {
            k: JournalEntry(str(v["location"]), int(v["offset"]))
            for k, v in entries.items()
            if isinstance(v, dict) and "location" in v
        }

    def _save(self) -> None:
        if self.path is None:
            return
        doc = {
            "uploads": {
                k: {"location": e.location, "offset": e.offset} for k, e in self._entries.items()
            }
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise AirgapError(
                f"cannot write upload journal {self.path} ({exc.strerror}): "
                "pass a writable --journal path"
            ) from exc
