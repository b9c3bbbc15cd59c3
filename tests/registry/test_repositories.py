"""Repository paths as registries really have them: nested, and not created on push.

Nested paths (`a/b/c/d`, as GitLab groups make them) under a nested prefix, on both registry
implementations, read back byte for byte by skopeo and crane. Behind a proxy that refuses to
create repositories (as ECR does), the push names every repository to create first and sends
nothing; once they exist, the same push goes through.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airgap.errors import RepositoryMissingError
from airgap.layout import read_layout
from airgap.push import apply_push, plan_push
from airgap.registry import open_client
from airgap.synthetic import ImageSpec, write_layout
from tests.registry.conftest import RegistryServer, Served
from tests.registry.nocreate import NoCreateProxy

pytestmark = pytest.mark.registry

SPECS = (
    ImageSpec("gitlab.acme.dev/a/b/c/d:1.0", shared=(4096,)),
    ImageSpec("gitlab.acme.dev/a/b/e:1.0", platforms=("linux/amd64",), shared=(4096,)),
)


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    write_layout(tmp_path / "layout", SPECS, seed=11)
    return tmp_path / "layout"


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[NoCreateProxy]:
    server = NoCreateProxy(registry.netloc)
    yield server
    server.stop()


def raw(argv: list[str]) -> bytes:
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def test_nested_paths_under_a_nested_prefix(
    layout: Path, any_registry: Served, skopeo: str, crane: str
) -> None:
    client = open_client(f"{any_registry.netloc}/group/sub", insecure_http=True)
    graph = read_layout(layout)
    summary = apply_push(plan_push(graph, client), client)
    targets = dict(summary.images)
    assert targets["gitlab.acme.dev/a/b/c/d:1.0"].startswith(
        f"{any_registry.netloc}/group/sub/a/b/c/d@sha256:"
    )
    for image in graph.images:
        ref = targets[image.ref_name]
        root = graph.manifests[image.root.digest].raw
        assert raw([skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"]) == root
        assert raw([crane, "manifest", "--insecure", ref]) == root
    tag = f"{any_registry.netloc}/group/sub/a/b/e:1.0"
    pushed = targets["gitlab.acme.dev/a/b/e:1.0"].rsplit("@", 1)[1]
    assert raw([crane, "digest", "--insecure", tag]).decode().strip() == pushed


def test_registry_that_does_not_create_repositories_is_told_which_to_create(
    layout: Path, proxy: NoCreateProxy, registry: RegistryServer
) -> None:
    client = open_client(f"{proxy.netloc}/mirror", insecure_http=True)
    graph = read_layout(layout)
    proxy.created = {"mirror/a/b/e"}
    with pytest.raises(RepositoryMissingError) as caught:
        apply_push(plan_push(graph, client), client)
    assert "create these first" in str(caught.value)
    assert "mirror/a/b/c/d" in str(caught.value)
    assert "mirror/a/b/e" not in str(caught.value)
    assert registry.blob_files() == []  # nothing was sent
    proxy.created.add("mirror/a/b/c/d")
    summary = apply_push(plan_push(graph, client), client)
    assert summary.manifests_pushed == 4
    assert plan_push(graph, client).bytes_to_send == 0
