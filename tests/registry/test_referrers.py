"""Referrers (signatures, SBOMs) travel with their images, on both registry implementations.

The vendor's layout gets its referrers from `oras attach` (the real tool writes them into the
OCI layout); after the push into a nested repository path, `oras discover` — an independent
client, reading the referrers API or the spec's `sha256-<hex>` fallback tag — must list them
under the relocated digests. Neither local registry has the referrers API, so the fallback is
what is exercised; a second push adds nothing and does not list a referrer twice.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airgap.layout import read_layout
from airgap.push import apply_push, plan_push
from airgap.referrers import fallback_tag
from airgap.registry import open_client
from airgap.synthetic import ImageSpec, write_layout
from tests.registry.conftest import Served

pytestmark = pytest.mark.registry

REF = "registry.acme.dev/acme/api:2.14.0"
SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json"
SBOM = "application/spdx+json"


def oras_attach(oras: str, layout: Path, digest: str, kind: str, tmp: Path) -> str:
    payload = tmp / f"{kind.rsplit('/', 1)[-1]}.json"
    payload.write_text(json.dumps({"kind": kind, "subject": digest}))
    argv = [oras, "attach", "--oci-layout", f"{layout}@{digest}", "--artifact-type", kind]
    argv += ["--format", "json", payload.name]
    out = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, check=True, timeout=60)
    return str(json.loads(out.stdout)["digest"])


def discover(oras: str, ref: str) -> list[dict[str, Any]]:
    argv = [oras, "discover", "--plain-http", "--format", "json", ref]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    return list(json.loads(out.stdout).get("referrers") or [])


@pytest.fixture
def signed_layout(tmp_path: Path, oras: str) -> tuple[Path, str, str, dict[str, str]]:
    """An image index signed at the top, with an SBOM on its amd64 manifest."""
    layout = tmp_path / "layout"
    root = write_layout(layout, [ImageSpec(REF)], seed=3)[REF]
    index = json.loads((layout / "blobs" / "sha256" / root[7:]).read_bytes())
    amd64 = next(
        m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == "amd64"
    )
    attached = {
        "signature": oras_attach(oras, layout, root, SIGNATURE, tmp_path),
        "sbom": oras_attach(oras, layout, amd64, SBOM, tmp_path),
    }
    return layout, root, amd64, attached


def test_referrers_are_visible_to_oras_after_relocation(
    signed_layout: tuple[Path, str, str, dict[str, str]], any_registry: Served, oras: str
) -> None:
    layout, root, amd64, attached = signed_layout
    client = open_client(f"{any_registry.netloc}/mirror/team", insecure_http=True)
    graph = read_layout(layout)
    assert {r.digest for r in graph.referrers} == set(attached.values())
    apply_push(plan_push(graph, client), client)
    target = f"{any_registry.netloc}/mirror/team/acme/api"
    on_root = discover(oras, f"{target}@{root}")
    assert [(r["digest"], r["artifactType"]) for r in on_root] == [
        (attached["signature"], SIGNATURE)
    ]
    on_amd64 = discover(oras, f"{target}@{amd64}")
    assert [(r["digest"], r["artifactType"]) for r in on_amd64] == [(attached["sbom"], SBOM)]


def test_second_push_keeps_one_entry_per_referrer(
    signed_layout: tuple[Path, str, str, dict[str, str]], any_registry: Served, oras: str
) -> None:
    layout, root, _, attached = signed_layout
    client = open_client(f"{any_registry.netloc}/mirror", insecure_http=True)
    graph = read_layout(layout)
    apply_push(plan_push(graph, client), client)
    again = apply_push(plan_push(graph, client), client)
    assert (again.bytes_sent, again.manifests_pushed) == (0, 0)
    raw = client.get_manifest("mirror/acme/api", fallback_tag(root))
    assert raw is not None
    listed = [m["digest"] for m in json.loads(raw)["manifests"]]
    assert listed == [attached["signature"]]
    assert len(discover(oras, f"{any_registry.netloc}/mirror/acme/api@{root}")) == 1
