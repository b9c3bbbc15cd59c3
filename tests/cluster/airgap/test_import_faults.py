"""`outpost airgap import` when things go wrong: nothing half-applied, a clear message, resume.

Covers: SIGINT mid-blob stops at a chunk boundary (exit 130, no Bundle) and the next run resumes
from the journal and creates the Bundle; a registry restarted mid-push is waited for; wrong
credentials (no secret printed), an unreachable registry, a registry refusing a blob and a
tampered image blob in the bundle (rejected before any push) each leave no Bundle behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from airgap.localregistry import RegistryServer
from tests.cluster.agent.agentkit import Kubectl
from tests.cluster.airgap.kit import (
    SampleKeys,
    build_bundle,
    import_argv,
    imported,
    run_import,
    sample_images,
    tamper_layer,
)
from tests.conftest import Cluster
from tests.registry.conftest import PASSWORD, USER

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
MIB = 1024 * 1024


def largest_blob(layout: Path) -> str:
    blobs = sorted((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    return "sha256:" + blobs[-1].name


def start_import(argv: list[str], journal: Path) -> subprocess.Popen[bytes]:
    """Start an import and return once one chunk of a blob is journaled."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (journal.exists() and '"offset"' in journal.read_text()):
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "no chunk was journaled"
        time.sleep(0.02)
    return proc


@pytest.fixture
def big_bundle(keys: SampleKeys, product: str, tmp_path: Path) -> Path:
    return build_bundle(keys, tmp_path, product, sample_images(tmp_path / "oci", big=24 * MIB))


def test_interrupted_import_resumes_and_only_then_creates_the_bundle(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    big_bundle: Path,
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.json"
    flags = ("--insecure-http", "--journal", str(journal), "--chunk-size", "1", "--output", "json")
    argv = import_argv(cluster, big_bundle, keys, registry.netloc, namespace, *flags)
    proc = start_import(argv, journal)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert b"rerun the same command to resume" in stderr
    assert kubectl.get("bundle", f"{product}-stable-1") is None

    report = imported(run_import(cluster, big_bundle, keys, registry.netloc, namespace, *flags))
    assert report["images"]["blobsResumed"] >= 1
    assert report["bytesSent"] < big_bundle.stat().st_size - MIB
    assert kubectl.get("bundle", f"{product}-stable-1") is not None


def test_registry_restarted_mid_push_is_waited_for(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    big_bundle: Path,
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.json"
    flags = ("--insecure-http", "--journal", str(journal), "--chunk-size", "1", "--output", "json")
    proc = start_import(
        import_argv(cluster, big_bundle, keys, registry.netloc, namespace, *flags), journal
    )
    registry.restart()
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["bundleObject"] == f"{product}-stable-1"
    assert kubectl.get("bundle", f"{product}-stable-1") is not None


def test_wrong_credentials_are_explained_and_nothing_is_applied(
    cluster: Cluster,
    kubectl: Kubectl,
    tls_registry: tuple[RegistryServer, Path],
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    server, ca = tls_registry
    bundle = build_bundle(keys, tmp_path, product, sample_images(tmp_path / "oci"))
    flags = ("--ca-file", str(ca), "--username", USER, "--password-stdin")
    proc = run_import(cluster, bundle, keys, server.netloc, namespace, *flags, stdin="n0t-it\n")
    assert proc.returncode == 2
    assert f"rejected the credentials of user '{USER}'" in proc.stderr
    assert "n0t-it" not in proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert server.blob_files() == []
    assert kubectl.get("bundle", f"{product}-stable-1") is None
    ok = run_import(
        cluster, bundle, keys, server.netloc, namespace, *flags, stdin=PASSWORD + "\n"
    )
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr


def test_unreachable_registry_is_explained_and_nothing_is_applied(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    bundle = build_bundle(keys, tmp_path, product, sample_images(tmp_path / "oci"))
    registry.stop()
    proc = run_import(cluster, bundle, keys, registry.netloc, namespace, "--insecure-http")
    assert proc.returncode == 2
    assert f"cannot connect to registry {registry.netloc}" in proc.stderr
    assert kubectl.get("bundle", f"{product}-stable-1") is None


def test_registry_refusing_a_blob_is_explained_and_nothing_is_applied(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    layout = sample_images(tmp_path / "oci", big=2 * MIB)
    bundle = build_bundle(keys, tmp_path, product, layout)
    digest = largest_blob(layout)
    # A file where the blob's fan-out directory belongs: the registry cannot commit that blob.
    fanout = registry.storage / "docker/registry/v2/blobs/sha256" / digest[7:9]
    fanout.parent.mkdir(parents=True)
    fanout.write_text("")
    proc = run_import(cluster, bundle, keys, registry.netloc, namespace, "--insecure-http")
    assert proc.returncode == 2
    assert f"uploading blob {digest}" in proc.stderr and "HTTP 500" in proc.stderr
    assert kubectl.get("bundle", f"{product}-stable-1") is None


def test_tampered_image_blob_is_rejected_before_any_push(
    cluster: Cluster,
    kubectl: Kubectl,
    registry: RegistryServer,
    keys: SampleKeys,
    product: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    layout = sample_images(tmp_path / "oci", big=MIB)
    bundle = build_bundle(keys, tmp_path, product, layout)
    tamper_layer(bundle, layout)
    proc = run_import(cluster, bundle, keys, registry.netloc, namespace, "--insecure-http")
    assert proc.returncode == 1, proc.stderr
    assert "digest check failed" in proc.stderr or "sha256" in proc.stderr
    assert not (registry.storage / "docker").exists()
    assert kubectl.get("bundle", f"{product}-stable-1") is None
