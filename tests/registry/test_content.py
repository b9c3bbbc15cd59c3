"""A bundle's extracted content (images/ + charts/) pushed in one call, then relocated refs.

Covers the composition `outpost airgap import` uses: verified layout pushed, charts pushed,
and the returned mapping rewriting chart values to the private registry by digest, where
every rewritten reference resolves (skopeo) to the pushed index.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airgap.content import push_content
from airgap.registry import open_client
from airgap.synthetic import ImageSpec, write_chart, write_layout
from refs.relocation import relocate_refs
from tests.registry.conftest import Served

pytestmark = pytest.mark.registry
API = "registry.acme.dev/acme/api:2.14.0"


def test_push_content_then_relocate_values(
    tmp_path: Path, any_registry: Served, skopeo: str
) -> None:
    content = tmp_path / "content"
    digests = write_layout(content / "images", [ImageSpec(API)], seed=9)
    (content / "charts").mkdir()
    write_chart(content / "charts", "acme-api", "2.14.0", image=API)
    client = open_client(f"{any_registry.netloc}/outpost", insecure_http=True)

    pushed = push_content(content, client)

    assert pushed.images is not None
    assert pushed.images.manifests_pushed == 3
    assert pushed.chart_urls(any_registry.netloc) == {
        "acme-api": f"oci://{any_registry.netloc}/outpost/charts/acme-api"
    }
    values = relocate_refs({"image": API, "other": "busybox:1"}, pushed.mapping)
    target = f"{any_registry.netloc}/outpost/acme/api@{digests[API]}"
    assert values == {"image": target, "other": "busybox:1"}
    inspected = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{target}"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert inspected.stdout == (content / "images/blobs/sha256" / digests[API][7:]).read_bytes()
    again = push_content(content, client)
    assert again.images is not None
    assert again.images.bytes_sent == 0
