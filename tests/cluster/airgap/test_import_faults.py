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
from tests.cluster.airgap.kit import Site, imported, tamper_layer
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


def chunked(site: Site) -> tuple[str, ...]:
    journal = str(site.tmp / "journal.json")
    return ("--insecure-http", "--journal", journal, "--chunk-size", "1", "--output", "json")


def test_interrupted_import_resumes_and_only_then_creates_the_bundle(
    site: Site, registry: RegistryServer
) -> None:
    bundle, _ = site.bundle(big=24 * MIB)
    proc = start_import(
        site.argv(bundle, registry.netloc, *chunked(site)), site.tmp / "journal.json"
    )
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert b"rerun the same command to resume" in stderr
    assert site.bundle_object() is None

    report = imported(site.run(bundle, registry.netloc, *chunked(site)))
    assert report["images"]["blobsResumed"] >= 1
    assert report["bytesSent"] < bundle.stat().st_size - MIB
    assert site.bundle_object() is not None


def test_registry_restarted_mid_push_is_waited_for(site: Site, registry: RegistryServer) -> None:
    bundle, _ = site.bundle(big=24 * MIB)
    proc = start_import(
        site.argv(bundle, registry.netloc, *chunked(site)), site.tmp / "journal.json"
    )
    registry.restart()
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["bundleObject"] == f"{site.product}-stable-1"
    assert site.bundle_object() is not None


def test_wrong_credentials_are_explained_and_nothing_is_applied(
    site: Site, tls_registry: tuple[RegistryServer, Path]
) -> None:
    server, ca = tls_registry
    bundle, _ = site.bundle()
    flags = ("--ca-file", str(ca), "--username", USER, "--password-stdin")
    proc = site.run(bundle, server.netloc, *flags, stdin="n0t-it\n")
    assert proc.returncode == 2
    assert f"rejected the credentials of user '{USER}'" in proc.stderr
    assert "n0t-it" not in proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert server.blob_files() == []
    assert site.bundle_object() is None
    ok = site.run(bundle, server.netloc, *flags, stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr


def test_unreachable_registry_is_explained_and_nothing_is_applied(
    site: Site, registry: RegistryServer
) -> None:
    bundle, _ = site.bundle()
    registry.stop()
    proc = site.run(bundle, registry.netloc, "--insecure-http")
    assert proc.returncode == 2
    assert f"cannot connect to registry {registry.netloc}" in proc.stderr
    assert site.bundle_object() is None


def test_registry_refusing_a_blob_is_explained_and_nothing_is_applied(
    site: Site, registry: RegistryServer
) -> None:
    bundle, layout = site.bundle(big=2 * MIB)
    digest = largest_blob(layout)
    # A file where the blob's fan-out directory belongs: the registry cannot commit that blob.
    fanout = registry.storage / "docker/registry/v2/blobs/sha256" / digest[7:9]
    fanout.parent.mkdir(parents=True)
    fanout.write_text("")
    proc = site.run(bundle, registry.netloc, "--insecure-http")
    assert proc.returncode == 2
    assert f"uploading blob {digest}" in proc.stderr
    assert "HTTP 500" in proc.stderr
    assert site.bundle_object() is None


def test_tampered_image_blob_is_rejected_before_any_push(
    site: Site, registry: RegistryServer
) -> None:
    bundle, layout = site.bundle(big=MIB)
    tamper_layer(bundle, layout)
    proc = site.run(bundle, registry.netloc, "--insecure-http")
    assert proc.returncode == 1, proc.stderr
    assert "digest check failed" in proc.stderr
    assert not (registry.storage / "docker").exists()
    assert site.bundle_object() is None
