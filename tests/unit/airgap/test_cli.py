"""`outpost airgap` usage and refusal paths that need no registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from airgap.cli import airgap
from airgap.synthetic import ImageSpec, write_layout
from refs.errors import AddressError


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    write_layout(tmp_path / "oci", [ImageSpec("registry.acme.dev/acme/api:1.0")], seed=1)
    return tmp_path / "oci"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--registry", "10.0.0.1:5000", "--insecure-http"], "only allowed for a loopback"),
        (["--registry", "127.0.0.1:1", "--username", "u"], "--username needs --password-stdin"),
        (["--registry", "127.0.0.1:1", "--password-stdin"], "--password-stdin needs --username"),
        (["--registry", "https://reg.corp"], "is not HOST[:PORT][/PREFIX]"),
    ],
)
def test_unusable_options_are_refused_before_any_request(
    layout: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(airgap, ["push-layout", str(layout), *extra])
    assert isinstance(result.exception, AddressError)
    assert message in str(result.exception)


def test_registry_option_is_required(layout: Path) -> None:
    result = CliRunner().invoke(airgap, ["push-layout", str(layout)])
    assert result.exit_code == 2
    assert "--registry" in result.output
