"""`make sample-bundle` builds the demo's own sample: signed, its multi-arch images inside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_sample_bundle_carries_the_demo_images(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "examples.demo_airgap", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    bundle, trust = (Path(line) for line in run.stdout.split())
    outpost = Path(sys.executable).parent / "outpost"
    subprocess.run(
        [str(outpost), "bundle", "verify", str(bundle), "--trust", str(trust)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    inspect = subprocess.run(
        [str(outpost), "bundle", "inspect", str(bundle), "--output", "json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    images = json.loads(inspect.stdout)["images"]
    assert {i["source"] for i in images} == {
        "registry.acme.example/acme/webapp:1.4.2",
        "registry.acme.example/acme/report-api:2.0.1",
    }
    assert all(set(i["platforms"]) == {"linux/amd64", "linux/arm64"} for i in images)


def test_the_sample_bundle_holds_no_application_of_unknown_health() -> None:
    """The demo ends green: the status-less Widget is shown apart, not shipped in the bundle."""
    resources = (ROOT / "examples" / "bundle" / "resources").glob("*.yaml")
    assert not any("kind: Widget" in path.read_text() for path in resources)
