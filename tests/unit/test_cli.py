"""The `outpost` root command: version, groups, and the expected-error contract."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from outpost.cli import cli

GROUPS = ("keys", "bundle", "airgap", "agent", "hub", "status", "dev")


def test_version_is_printed() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "outpost, version" in result.output


def test_every_group_is_mounted() -> None:
    for group in GROUPS:
        result = CliRunner().invoke(cli, [group, "--help"])
        assert result.exit_code == 0, (group, result.output)


def test_usage_error_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from outpost.cli import main; main(['no-such-command'])"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
