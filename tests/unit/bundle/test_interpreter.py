"""The CLI refuses to read bundles on a Python whose tarfile has CVE-2024-6232, naming it.

Aspects: detection by the module's content (a fake flawed `tarfile`); `bundle verify`,
`bundle inspect` and `airgap import` exit 2 naming the flaw; the documented override.
"""

from __future__ import annotations

import tarfile
import types
from pathlib import Path

import pytest

from bundle.errors import BundleError
from bundle.interpreter import FLAW, OVERRIDE, tarfile_is_patched
from tests.unit.bundle.test_cli import run


def test_detection_looks_at_the_module_not_the_version() -> None:
    flawed = types.SimpleNamespace(TarFile=tarfile.TarFile)
    assert not tarfile_is_patched(flawed)
    assert tarfile_is_patched(types.SimpleNamespace(_header_length_prefix_re=object()))


@pytest.mark.parametrize(
    "command",
    [
        ("bundle", "verify", "{b}", "--trust", "{b}"),
        ("bundle", "inspect", "{b}"),
        ("airgap", "import", "{b}", "--trust", "{b}", "--registry", "127.0.0.1:1"),
    ],
)
def test_cli_refuses_on_a_flawed_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"\0" * 1024)
    monkeypatch.delattr(tarfile, "_header_length_prefix_re", raising=False)
    monkeypatch.delenv(OVERRIDE, raising=False)
    result = run(*(part.format(b=bundle) for part in command))
    assert isinstance(result.exception, BundleError), result.output
    assert result.exception.exit_code == 2
    assert FLAW in str(result.exception)
    assert "interpreter check failed" in str(result.exception)
    monkeypatch.setenv(OVERRIDE, "1")
    later = run(*(part.format(b=bundle) for part in command))
    assert FLAW not in str(later.exception or "")
