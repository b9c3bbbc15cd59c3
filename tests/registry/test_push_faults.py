"""Faults against a real docker-registry 2.8.2: interruption, restarts, refusals, bad input.

Covers: a push cancelled mid-blob (hook, or SIGINT to a real `outpost` process) resumes from
the journaled offset on the next run; a
registry that goes away mid-blob and comes back is waited for and the blob continues; wrong
credentials, an unreachable registry, a storage error on one blob and a tampered layout blob
each give a clear error and leave nothing half-pushed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from airgap.auth import Credentials
from airgap.cli import airgap
from airgap.errors import (
    LayoutError,
    PushCancelledError,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachableError,
)
from airgap.journal import UploadJournal
from airgap.layout import read_layout
from airgap.progress import NullObserver
from airgap.push import apply_push, plan_push
from airgap.registry import RegistryClient, open_client
from airgap.session import RegistrySession, RetryPolicy
from airgap.synthetic import ImageSpec, write_layout
from airgap.upload import MIB, UploadSettings
from refs.address import parse_address
from tests.registry.conftest import PASSWORD, USER, RegistryServer

pytestmark = pytest.mark.registry

BIG = 5 * MIB
SMALL_CHUNKS = UploadSettings(chunk_size=MIB, monolithic_max=MIB)


class CancelAfter(NullObserver):
    """Cancellation hook: raise once `chunks` chunks of any blob are committed."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        self.left -= 1
        if self.left == 0:
            raise PushCancelledError(f"cancelled at {digest} offset {offset}")


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    spec = ImageSpec(
        "registry.acme.dev/acme/db:1.0", layer_sizes=(BIG,), platforms=("linux/amd64",)
    )
    write_layout(tmp_path / "layout", [spec], seed=3)
    return tmp_path / "layout"


@pytest.fixture
def client(registry: RegistryServer) -> RegistryClient:
    return open_client(registry.netloc, insecure_http=True)


def big_blob(layout: Path) -> str:
    graph = read_layout(layout)
    return max(graph.blobs.values(), key=lambda d: d.size).digest


def test_cancelled_push_resumes_from_the_journaled_offset(
    layout: Path, client: RegistryClient, tmp_path: Path
) -> None:
    journal_path = tmp_path / "journal.json"
    graph = read_layout(layout)
    with pytest.raises(PushCancelledError):
        apply_push(
            plan_push(graph, client),
            client,
            journal=UploadJournal(journal_path),
            observer=CancelAfter(2),
            settings=SMALL_CHUNKS,
            workers=1,
        )
    plan = plan_push(graph, client, UploadJournal(journal_path))
    resumed = [s for s in plan.blob_steps if s.action == "resume"]
    assert [(s.digest, s.offset) for s in resumed] == [(big_blob(layout), 2 * MIB)]
    summary = apply_push(plan, client, journal=UploadJournal(journal_path), settings=SMALL_CHUNKS)
    assert summary.blobs_resumed == 1
    assert summary.bytes_sent == plan.bytes_to_send == resumed[0].size - 2 * MIB + _others(plan)
    assert client.blob_exists("acme/db", resumed[0].digest)
    assert (
        UploadJournal(journal_path).get(
            UploadJournal.key(client.address.netloc, "acme/db", resumed[0].digest)
        )
        is None
    )


def _others(plan: object) -> int:
    steps = plan.blob_steps  # type: ignore[attr-defined]
    return sum(s.bytes_to_send for s in steps if s.action == "upload")


class RestartRegistry(NullObserver):
    """After the second chunk: stop the registry, start it again a second later."""

    def __init__(self, server: RegistryServer) -> None:
        self.server, self.done = server, False

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        if offset == 2 * MIB and not self.done:
            self.done = True
            self.server.stop()
            threading.Timer(1.0, self.server.start).start()


def test_registry_restarted_mid_blob_is_waited_for_and_the_blob_continues(
    layout: Path, client: RegistryClient, registry: RegistryServer
) -> None:
    plan = plan_push(read_layout(layout), client)
    summary = apply_push(
        plan, client, observer=RestartRegistry(registry), settings=SMALL_CHUNKS, workers=1
    )
    assert summary.bytes_sent == plan.bytes_to_send  # nothing sent twice
    assert client.manifest_digest("acme/db", "1.0") == plan.manifest_steps[-1].digest


def test_wrong_credentials_fail_clearly_and_push_nothing(
    layout: Path, tls_registry: tuple[RegistryServer, Path]
) -> None:
    server, ca = tls_registry
    client = open_client(server.netloc, ca_file=ca, credentials=Credentials(USER, "not-it"))
    with pytest.raises(RegistryAuthError) as caught:
        apply_push(plan_push(read_layout(layout), client), client)
    message = str(caught.value)
    assert f"rejected the credentials of user '{USER}'" in message
    assert "not-it" not in message
    assert PASSWORD not in message
    assert server.blob_files() == []


def test_missing_ca_is_a_clear_tls_error(
    layout: Path, tls_registry: tuple[RegistryServer, Path]
) -> None:
    server, _ = tls_registry
    client = open_client(server.netloc, credentials=Credentials(USER, PASSWORD))
    with pytest.raises(RegistryUnreachableError, match="--ca-file"):
        plan_push(read_layout(layout), client)


def test_unreachable_registry_is_a_clear_error(layout: Path, registry: RegistryServer) -> None:
    registry.stop()
    session = RegistrySession(
        parse_address(registry.netloc, insecure_http=True),
        retry=RetryPolicy(attempts=2),
        sleep=lambda _: None,
    )
    with pytest.raises(
        RegistryUnreachableError, match=f"cannot connect to registry {registry.netloc}"
    ):
        plan_push(read_layout(layout), RegistryClient(session))


def test_storage_error_on_a_blob_is_reported_and_no_manifest_is_pushed(
    layout: Path, client: RegistryClient, registry: RegistryServer
) -> None:
    digest = big_blob(layout)
    # A file where the blob's fan-out directory belongs: the registry cannot commit that blob.
    fanout = registry.storage / "docker/registry/v2/blobs/sha256" / digest[7:9]
    fanout.parent.mkdir(parents=True)
    fanout.write_text("")
    with pytest.raises(RegistryError) as caught:
        apply_push(plan_push(read_layout(layout), client), client)
    assert caught.value.status_code == 500
    assert f"failed while uploading blob {digest} to acme/db (HTTP 500" in str(caught.value)
    assert client.manifest_digest("acme/db", "1.0") is None


def test_tampered_blob_is_rejected_before_anything_is_sent(
    layout: Path, registry: RegistryServer
) -> None:
    blob = layout / "blobs" / "sha256" / big_blob(layout)[7:]
    data = bytearray(blob.read_bytes())
    data[1000] ^= 0xFF
    blob.write_bytes(bytes(data))
    result = CliRunner().invoke(
        airgap, ["push-layout", str(layout), "--registry", registry.netloc, "--insecure-http"]
    )
    assert isinstance(result.exception, LayoutError)
    assert "tampered" in str(result.exception)
    assert not (registry.storage / "docker").exists()


def test_sigint_stops_at_a_chunk_boundary_and_the_next_run_resumes(
    tmp_path: Path, registry: RegistryServer
) -> None:
    spec = ImageSpec(
        "registry.acme.dev/acme/big:1.0", layer_sizes=(48 * MIB,), platforms=("linux/amd64",)
    )
    write_layout(tmp_path / "oci", [spec], seed=4)
    journal = tmp_path / "journal.json"
    argv = [
        str(Path(sys.executable).parent / "outpost"),
        "airgap",
        "push-layout",
        str(tmp_path / "oci"),
        "--registry",
        registry.netloc,
        "--insecure-http",
        "--journal",
        str(journal),
        "--chunk-size",
        "1",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (journal.exists() and '"offset"' in journal.read_text()):
        assert proc.poll() is None, "push ended before a chunk was journaled"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"rerun the same command to resume" in stderr
    client = open_client(registry.netloc, insecure_http=True)
    plan = plan_push(read_layout(tmp_path / "oci"), client, UploadJournal(journal))
    (step,) = [s for s in plan.blob_steps if s.action == "resume"]
    assert 0 < step.offset < step.size
    summary = apply_push(plan, client, journal=UploadJournal(journal))
    assert summary.blobs_resumed == 1
    assert summary.bytes_sent == plan.bytes_to_send < step.size
