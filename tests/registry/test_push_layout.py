"""Pushing OCI layouts into a real docker-registry 2.8.2, cross-checked with skopeo.

Covers: byte-exact manifests and indexes (both platforms kept), idempotent re-push (0 bytes),
cross-repository mounts, dry-run plan = what is applied, the CLI (text and JSON), TLS with
Basic auth, and relocation of the pushed references.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from airgap.auth import Credentials
from airgap.cli import airgap
from airgap.errors import RegistryAuthError
from airgap.layout import read_layout
from airgap.push import apply_push, plan_push
from airgap.registry import RegistryClient, open_client
from airgap.synthetic import ImageSpec, write_layout
from tests.registry.conftest import PASSWORD, USER, RegistryServer, Served
from tests.registry.crane import CraneRegistry
from tests.registry.token_server import TokenServer

pytestmark = pytest.mark.registry

SPECS = (
    ImageSpec("registry.acme.dev/acme/api:2.14.0", shared=(4096,)),
    ImageSpec("registry.acme.dev/acme/worker:2.14.0", platforms=("linux/amd64",), shared=(4096,)),
)


def skopeo_raw(skopeo: str, ref: str, *extra: str) -> bytes:
    argv = [skopeo, "inspect", "--raw", *extra, f"docker://{ref}"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def crane_raw(crane: str, ref: str) -> bytes:
    argv = [crane, "manifest", "--insecure", ref]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    write_layout(tmp_path / "layout", SPECS, seed=7)
    return tmp_path / "layout"


@pytest.fixture
def client(any_registry: Served) -> RegistryClient:
    return open_client(f"{any_registry.netloc}/outpost", insecure_http=True)


def test_every_manifest_is_byte_identical_in_the_registry(
    layout: Path, client: RegistryClient, any_registry: Served, skopeo: str, crane: str
) -> None:
    graph = read_layout(layout)
    summary = apply_push(plan_push(graph, client), client)
    assert summary.manifests_pushed == 4  # api: index + 2 manifests; worker: 1
    for image in graph.images:
        _, manifests = graph.closure(image)
        repo = client.address.repository(image.ref_name.split("/", 1)[1].split(":")[0])
        for node in manifests:
            ref = f"{any_registry.netloc}/{repo}@{node.descriptor.digest}"
            assert skopeo_raw(skopeo, ref, "--tls-verify=false") == node.raw
            assert crane_raw(crane, ref) == node.raw


def test_multi_arch_index_keeps_both_platforms(
    layout: Path, client: RegistryClient, any_registry: Served, skopeo: str
) -> None:
    apply_push(plan_push(read_layout(layout), client), client)
    ref = f"{any_registry.netloc}/outpost/acme/api:2.14.0"
    index = json.loads(skopeo_raw(skopeo, ref, "--tls-verify=false"))
    platforms = {(m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"]}
    assert platforms == {("linux", "amd64"), ("linux", "arm64")}


def test_second_push_sends_zero_bytes_and_plan_predicts_it(
    layout: Path, client: RegistryClient, any_registry: Served
) -> None:
    graph = read_layout(layout)
    first_plan = plan_push(graph, client)
    first = apply_push(first_plan, client)
    mounted = sum(s.size for s in first_plan.blob_steps if s.action == "mount")
    # go-containerregistry answers a mount with a fresh upload (allowed by the spec): sent in full.
    refused = mounted if isinstance(any_registry, CraneRegistry) else 0
    assert first.bytes_sent == first_plan.bytes_to_send + refused > 0
    second_plan = plan_push(graph, client)
    assert second_plan.bytes_to_send == 0
    assert {s.action for s in second_plan.blob_steps} == {"exists"}
    second = apply_push(second_plan, client)
    assert (second.bytes_sent, second.manifests_pushed, second.blobs_sent) == (0, 0, 0)


def test_shared_layer_is_mounted_across_repositories(
    layout: Path, client: RegistryClient, any_registry: Served
) -> None:
    plan = plan_push(read_layout(layout), client)
    mounts = [s for s in plan.blob_steps if s.action == "mount"]
    assert [(s.repository, s.source) for s in mounts] == [
        ("outpost/acme/worker", "outpost/acme/api")
    ]
    summary = apply_push(plan, client)
    # A registry that declines the mount gets the blob uploaded instead (spec fallback).
    assert summary.blobs_mounted == (0 if isinstance(any_registry, CraneRegistry) else 1)
    assert client.blob_exists("outpost/acme/worker", mounts[0].digest)


def test_cli_dry_run_then_push_json(layout: Path, registry: RegistryServer, tmp_path: Path) -> None:
    args = [
        "push-layout",
        str(layout),
        "--registry",
        f"{registry.netloc}/mirror",
        "--insecure-http",
        "--journal",
        str(tmp_path / "journal.json"),
        "--output",
        "json",
    ]
    dry = CliRunner().invoke(airgap, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["blobs"]["upload"] > 0
    done = CliRunner().invoke(airgap, args)
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["bytesSent"] == planned["bytesToSend"]
    assert summary["images"][0]["target"].startswith(f"{registry.netloc}/mirror/acme/api@sha256:")


def test_tls_registry_with_basic_auth(
    layout: Path, tls_registry: tuple[RegistryServer, Path], skopeo: str, tmp_path: Path
) -> None:
    server, ca = tls_registry
    client = open_client(server.netloc, ca_file=ca, credentials=Credentials(USER, PASSWORD))
    graph = read_layout(layout)
    apply_push(plan_push(graph, client), client)
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(ca.read_bytes())
    raw = skopeo_raw(
        skopeo,
        f"{server.netloc}/acme/api:2.14.0",
        f"--cert-dir={certs}",
        f"--creds={USER}:{PASSWORD}",
    )
    assert raw == graph.manifests[graph.images[0].root.digest].raw


def test_cli_reads_the_password_from_stdin_only(
    layout: Path, tls_registry: tuple[RegistryServer, Path]
) -> None:
    server, ca = tls_registry
    args = [
        "push-layout",
        str(layout),
        "--registry",
        server.netloc,
        "--ca-file",
        str(ca),
        "--username",
        USER,
        "--password-stdin",
        "--output",
        "json",
    ]
    result = CliRunner().invoke(airgap, args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["manifestsPushed"] == 4
    assert PASSWORD not in result.output


def test_bearer_token_flow_with_cross_repository_mount(
    layout: Path, token_registry: tuple[RegistryServer, TokenServer]
) -> None:
    server, tokens = token_registry
    client = open_client(
        f"{server.netloc}/outpost", insecure_http=True, credentials=Credentials(USER, PASSWORD)
    )
    plan = plan_push(read_layout(layout), client)
    summary = apply_push(plan, client)
    assert summary.blobs_mounted == 1
    assert "repository:outpost/acme/api:pull" in tokens.scopes  # the mount's source
    assert plan_push(read_layout(layout), client).bytes_to_send == 0


def test_bearer_wrong_password_is_refused_by_the_token_service(
    layout: Path, token_registry: tuple[RegistryServer, TokenServer]
) -> None:
    server, _ = token_registry
    client = open_client(
        server.netloc, insecure_http=True, credentials=Credentials(USER, "nope-nope")
    )
    with pytest.raises(RegistryAuthError, match="refused a token for user 'importer'"):
        plan_push(read_layout(layout), client)
