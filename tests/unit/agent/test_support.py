"""Support bundle pure parts: redaction rules (report names places, never values) and the
signed archive (every member digest-checked, the signature bound to the install's key)."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import SupportBundleInvalidError
from agent.support import archive
from agent.support.redact import Redactor

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_sensitive_keys_env_vars_and_patterns_are_hidden_and_reported() -> None:
    r = Redactor.with_patterns([r"ACME-\d{4}"])
    doc = {
        "data": {"password": "hunter2", "url": "postgres://u:pw123@db/x", "note": "ACME-1234"},
        "env": [{"name": "DB_TOKEN", "value": "t0k3n"}, {"name": "MODE", "value": "fast"}],
        "automountServiceAccountToken": True,
        "annotations": {"last": json.dumps({"env": [{"name": "API_KEY", "value": "k-999"}]})},
    }
    out = r.value("m.json", doc)
    text = json.dumps(out)
    for secret in ("hunter2", "pw123", "ACME-1234", "t0k3n", "k-999"):
        assert secret not in text
    assert out["env"][1]["value"] == "fast"
    assert out["automountServiceAccountToken"] is True
    rules = {(f.location, f.rule) for f in r.findings}
    assert ("$.data.password", "sensitive-key") in rules
    assert ("$.data.url", "url-password") in rules
    assert ("$.data.note", "custom:1") in rules
    assert all("hunter2" not in json.dumps(f.to_dict()) for f in r.findings)


def test_log_lines_pem_blocks_and_jwts() -> None:
    r = Redactor()
    log = (
        "a\nAuthorization: Bearer abcdefgh12345678\n-----BEGIN EC PRIVATE KEY-----\nxyz\n"
        "-----END EC PRIVATE KEY-----\ntoken eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\n"
    )
    clean = r.text("agent.log", log)
    for secret in ("abcdefgh12345678", "xyz", "eyJhbGci"):
        assert secret not in clean
    assert {f.location for f in r.findings} >= {"line 2", "line 3"}


def test_a_bad_custom_pattern_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        Redactor.with_patterns(["("])


def test_the_archive_verifies_and_every_change_is_caught(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    out = tmp_path / "s.tar.gz"
    archive.write(out, {"a.json": b"{}\n", "logs/x.log": b"hi\n"}, key, "agt_1", NOW)
    assert archive.verify(out, key.public_key()).members["logs/x.log"] == b"hi\n"
    with pytest.raises(SupportBundleInvalidError, match="signature check failed"):
        archive.verify(out, Ed25519PrivateKey.generate().public_key())
    extra = tmp_path / "extra.tar.gz"
    with tarfile.open(out) as src, tarfile.open(extra, "w:gz") as dst:
        for info in src:
            dst.addfile(info, src.extractfile(info))
        info = tarfile.TarInfo("smuggled.txt")
        dst.addfile(info)
    with pytest.raises(SupportBundleInvalidError, match="unlisted"):
        archive.verify(extra, key.public_key())
