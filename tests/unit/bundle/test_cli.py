"""`outpost keys …` and `outpost bundle …` through the root command (click's CliRunner).

Aspects: key files and their modes; keyring create and rotate; build refuses keys below the
bundle threshold; verify exits 0/1/2 and its JSON shape; inspect JSON lists images by source and
digest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundle.errors import BundleError
from outpost.cli import cli
from tests.unit.bundle.factory import oci_layout, source_tree


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    for name in ("r1", "r2", "r3", "b1", "b2", "hub"):
        result = run("keys", "generate", "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
    return tmp_path


def create_keyring(d: Path) -> Path:
    result = run(
        "keys", "keyring", "create", "--root", d / "r1.pub", "--root", d / "r2.pub",
        "--root", d / "r3.pub", "--root-threshold", "2", "--bundle", d / "b1.pub",
        "--hub", d / "hub.pub", "--expires", "365d", "--sign-with", d / "r1.key",
        "--sign-with", d / "r2.key", "--out", d / "keyring.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return d / "keyring.json"


def build(d: Path, keyring: Path, key: str = "b1", out: str = "x.tar") -> Result:
    src = d / "src" if (d / "src").exists() else source_tree(d / "src")
    oci = d / "oci" if (d / "oci").exists() else oci_layout(d / "oci")
    return run(
        "bundle", "build", src, "--version", "1.0.0", "--sequence", "3", "--keyring", keyring,
        "--sign-with", d / f"{key}.key", "--image", oci, "--out", d / out, "--product", "acme",
    )  # fmt: skip


def test_generate_writes_private_key_0600_and_prints_key_id(tmp_path: Path) -> None:
    result = run("keys", "generate", "--out", tmp_path / "k")
    assert result.exit_code == 0
    assert len(result.stdout.strip()) == 64
    assert os.stat(tmp_path / "k.key").st_mode & 0o777 == 0o600
    assert (tmp_path / "k.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "k.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = run("keys", "generate", "--out", tmp_path / "k")
    assert isinstance(again.exception, BundleError)


def test_build_verify_inspect_round_trip(keys: Path) -> None:
    keyring = create_keyring(keys)
    assert build(keys, keyring).exit_code == 0
    verified = run("bundle", "verify", keys / "x.tar", "--trust", keyring, "--output", "json")
    assert verified.exit_code == 0, verified.output
    doc = json.loads(verified.stdout)
    assert doc["verified"] is True
    assert (doc["product"], doc["sequence"]) == ("acme", 3)
    inspected = run("bundle", "inspect", keys / "x.tar", "--output", "json")
    info = json.loads(inspected.stdout)
    assert info["images"][0]["source"] == "registry.acme.dev/acme/api:2.14.0"
    assert info["images"][0]["digest"].startswith("sha256:")
    assert info["charts"][0]["name"] == "demo"
    assert info["files"] == 12
    assert len(info["signers"]) == 1


def test_verify_exits_1_naming_the_check(keys: Path) -> None:
    keyring = create_keyring(keys)
    assert build(keys, keyring).exit_code == 0
    data = bytearray((keys / "x.tar").read_bytes())
    data[-20000] ^= 0x01  # inside the content
    (keys / "bad.tar").write_bytes(bytes(data))
    result = run("bundle", "verify", keys / "bad.tar", "--trust", keyring, "--output", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["verified"] is False
    assert "check failed" in doc["error"]


def test_verify_exits_2_on_usage_errors(keys: Path) -> None:
    assert run("bundle", "verify", keys / "missing.tar", "--trust", keys / "r1.pub").exit_code == 2
    assert run("bundle", "verify", keys / "r1.pub").exit_code == 2


def test_build_refuses_keys_below_the_bundle_threshold(keys: Path) -> None:
    keyring = create_keyring(keys)
    result = build(keys, keyring, key="b2")
    assert isinstance(result.exception, BundleError)
    assert "'bundle' role of keyring v1" in str(result.exception)
    assert not (keys / "x.tar").exists()


def test_rotation_via_cli_then_old_trust_root_verifies_new_bundle(keys: Path) -> None:
    keyring = create_keyring(keys)
    trust = keys / "trust.json"
    trust.write_bytes(keyring.read_bytes())
    rotated = run(
        "keys", "keyring", "rotate", "--keyring", keyring, "--bundle", keys / "b2.pub",
        "--sign-with", keys / "r2.key", "--sign-with", keys / "r3.key", "--out", keyring,
    )  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert build(keys, keyring, key="b2").exit_code == 0
    assert run("bundle", "verify", keys / "x.tar", "--trust", trust).exit_code == 0


def test_rotation_below_old_root_threshold_is_refused(keys: Path) -> None:
    keyring = create_keyring(keys)
    result = run(
        "keys", "keyring", "rotate", "--keyring", keyring, "--bundle", keys / "b2.pub",
        "--sign-with", keys / "r3.key", "--out", keys / "new.json",
    )  # fmt: skip
    assert isinstance(result.exception, BundleError)
    assert "cannot rotate to keyring v2" in str(result.exception)


def test_verify_applies_anti_rollback_and_honours_a_signed_permit(keys: Path) -> None:
    keyring = create_keyring(keys)
    assert build(keys, keyring).exit_code == 0  # sequence 3
    verify = ("bundle", "verify", keys / "x.tar", "--trust", keyring, "--output", "json")
    upgrade = run(*verify, "--last-sequence", "2")
    assert json.loads(upgrade.stdout)["decision"] == "upgrade"
    refused = run(*verify, "--last-sequence", "4", "--extract", keys / "st")
    assert refused.exit_code == 2  # an expected, explained refusal
    assert "rollback check failed" in json.loads(refused.stdout)["error"]
    assert not (keys / "st").exists()
    permit = run(
        "bundle", "permit", "--keyring", keyring, "--sign-with", keys / "b1.key", "--product",
        "acme", "--sequence", "3", "--version", "1.0.0", "--out", keys / "permit.json",
    )  # fmt: skip
    assert permit.exit_code == 0, permit.output
    allowed = run(*verify, "--last-sequence", "4", "--permit", keys / "permit.json")
    assert json.loads(allowed.stdout)["decision"] == "downgrade"


def test_sample_module_builds_a_bundle_that_verifies(tmp_path: Path) -> None:
    from bundle import sample

    src = source_tree(tmp_path / "src")
    oci = oci_layout(tmp_path / "oci")
    args = [str(tmp_path / "out"), "--source", str(src), "--images", str(oci)]
    result = CliRunner().invoke(sample.main, args)
    assert result.exit_code == 0, result.output
    bundle_path, trust = result.stdout.split()
    assert run("bundle", "verify", bundle_path, "--trust", trust).exit_code == 0
    assert os.stat(tmp_path / "out" / "sample-bundle.key").st_mode & 0o777 == 0o600
