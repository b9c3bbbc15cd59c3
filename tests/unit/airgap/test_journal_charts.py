"""The upload journal file and chart metadata extraction (no registry)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from airgap.charts import chart_metadata
from airgap.errors import AirgapError
from airgap.journal import UploadJournal, default_journal_path
from airgap.synthetic import write_chart


def test_journal_survives_a_new_process_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.json"
    key = UploadJournal.key("reg:5000", "acme/api", "sha256:" + "b" * 64)
    UploadJournal(path).record(key, "http://reg:5000/v2/acme/api/blobs/uploads/u?_state=s", 42)
    entry = UploadJournal(path).get(key)
    assert entry is not None
    assert entry.offset == 42
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    UploadJournal(path).forget(key)
    assert UploadJournal(path).get(key) is None


def test_unreadable_journal_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text("{not json")
    with pytest.raises(AirgapError, match="delete it"):
        UploadJournal(path)


def test_default_journal_lives_in_the_state_dir(tmp_path: Path) -> None:
    assert default_journal_path({"XDG_STATE_HOME": str(tmp_path)}).parent == tmp_path / "outpost"


def test_chart_metadata_comes_from_chart_yaml(tmp_path: Path) -> None:
    meta = chart_metadata(write_chart(tmp_path, "acme-api", "1.2.3+build.4"))
    assert meta["name"] == "acme-api"
    assert meta["version"] == "1.2.3+build.4"
    assert meta["apiVersion"] == "v2"


def test_archive_without_chart_yaml_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not a gzip")
    with pytest.raises(AirgapError, match=r"Chart\.yaml"):
        chart_metadata(bogus)
