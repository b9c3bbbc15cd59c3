"""`outpost hub …` commands: key creation, one-time tokens, and clear errors.

Aspects: a new hub key is written 0600 and never overwritten; a token is printed once and only
its hash is stored; a bad key file, a bad store URL and a bad listen address are explained.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import click
from click.testing import CliRunner

from hub.cli import hub, load_hub_key, open_store
from hub.errors import HubError
from hub.service import token_sha256


def test_a_hub_key_is_created_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    result = CliRunner().invoke(hub, ["key", "create", "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert "key id:" in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_hub_key(str(path))
    again = CliRunner().invoke(hub, ["key", "create", "--out", str(path)])
    assert isinstance(again.exception, HubError)


def test_a_token_is_shown_once_and_stored_as_a_hash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    result = CliRunner().invoke(hub, ["token", "create", "--db", url, "--output", "json"])
    assert result.exit_code == 0, result.output
    token = json.loads(result.output)["token"]
    store = open_store(url)
    record = store.token(token_sha256(token))
    store.close()
    assert record is not None
    assert record.used_by is None
    assert token.encode() not in (tmp_path / "hub.db").read_bytes()


def test_bad_inputs_are_explained(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    errors = []
    for argv in (
        ["serve", "--db", "sqlite:///x.db", "--hub-key", str(bad)],
        ["serve", "--db", "sqlite:///x.db", "--hub-key", str(tmp_path / "missing.pem")],
        ["token", "create", "--db", "mysql://nope"],
    ):
        result = CliRunner().invoke(hub, argv)
        assert isinstance(result.exception, HubError), result.output
        errors.append(str(result.exception))
    assert "PEM" in errors[0]
    assert "cannot read hub key" in errors[1]
    assert "sqlite:///" in errors[2]
    listen = CliRunner().invoke(hub, ["serve", "--db", "sqlite:///x", "--hub-key", str(bad),
                                      "--listen", "nope"])  # fmt: skip
    assert listen.exit_code == click.BadParameter.exit_code


def test_prune_and_backup_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    open_store(url).close()
    pruned = CliRunner().invoke(hub, ["prune", "--db", url, "--older-than-days", "30"])
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 0 report(s)" in pruned.output
    copied = CliRunner().invoke(hub, ["backup", "--db", url, "--out", str(tmp_path / "c.db")])
    assert copied.exit_code == 0, copied.output
    assert open_store(f"sqlite:///{tmp_path / 'c.db'}").schema_version() > 0
    refused = CliRunner().invoke(hub, ["backup", "--db", "postgresql://x/y", "--out", "z.db"])
    assert "pg_dump" in str(refused.exception)


def test_logs_are_json_lines() -> None:
    import logging

    from hub.serving import JsonFormatter

    record = logging.LogRecord("outpost.hub", logging.INFO, "x", 1,
                               '{"event": "request", "status": 202}', None, None)  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert (line["event"], line["status"], line["level"]) == ("request", 202, "info")
    plain = logging.LogRecord("uvicorn", logging.WARNING, "x", 1, "started", None, None)
    assert json.loads(JsonFormatter().format(plain))["message"] == "started"
