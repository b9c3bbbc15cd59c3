"""Bearer tokens scoped per repository, and tokens that run out in the middle of a push.

docker-registry in `auth: token` mode with the loopback token service. A token is asked for one
repository at a time (plus `pull` on a mount source); a repository the user may only pull from
is refused with a message that names the missing permission. A long chunked upload outlives its
token: announced lifetimes are honoured by fetching a new token in time; a token that dies
earlier than announced makes the refused chunk retry with a new token instead of failing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airgap.auth import Credentials
from airgap.errors import RegistryAuthError
from airgap.journal import UploadJournal
from airgap.layout import read_layout
from airgap.progress import NullObserver
from airgap.push import apply_push, plan_push
from airgap.registry import RegistryClient, open_client
from airgap.synthetic import ImageSpec, write_layout
from airgap.upload import MIB, UploadSettings
from tests.registry.conftest import PASSWORD, USER, RegistryServer
from tests.registry.token_server import TokenServer

pytestmark = pytest.mark.registry

SPECS = (
    ImageSpec("registry.acme.dev/a/b/c/d:1.0", shared=(4096,)),
    ImageSpec("registry.acme.dev/a/b/worker:1.0", platforms=("linux/amd64",), shared=(4096,)),
)
CHUNKS = UploadSettings(chunk_size=MIB, monolithic_max=MIB // 2)


class Slow(NullObserver):
    """Waits after every committed chunk, so the upload outlives a short token."""

    def chunk_committed(self, repo: str, digest: str, offset: int) -> None:
        time.sleep(0.8)


def client_for(server: RegistryServer, prefix: str) -> RegistryClient:
    return open_client(
        f"{server.netloc}/{prefix}", insecure_http=True, credentials=Credentials(USER, PASSWORD)
    )


def test_each_token_is_scoped_to_one_repository(
    tmp_path: Path, token_registry: tuple[RegistryServer, TokenServer]
) -> None:
    server, tokens = token_registry
    write_layout(tmp_path / "layout", SPECS, seed=5)
    client = client_for(server, "team")
    apply_push(plan_push(read_layout(tmp_path / "layout"), client), client)
    names = {scope.split(":")[1] for scope in tokens.scopes}
    assert names == {"team/a/b/c/d", "team/a/b/worker"}
    assert all(scope.startswith("repository:") for scope in tokens.scopes)


def test_a_repository_without_push_permission_is_named(
    tmp_path: Path, token_registry: tuple[RegistryServer, TokenServer]
) -> None:
    server, tokens = token_registry
    tokens.grants = lambda name, actions: actions if name.startswith("team/") else ["pull"]
    write_layout(tmp_path / "layout", SPECS[1:], seed=5)
    client = client_for(server, "elsewhere")
    with pytest.raises(RegistryAuthError, match="needs push permission") as caught:
        apply_push(plan_push(read_layout(tmp_path / "layout"), client), client)
    assert "elsewhere/a/b/worker" in str(caught.value)


@pytest.mark.parametrize("announced", [3.0, 300.0], ids=["announced", "dies-early"])
def test_token_expiring_mid_push_is_refreshed(
    tmp_path: Path, token_registry: tuple[RegistryServer, TokenServer], announced: float
) -> None:
    server, tokens = token_registry
    tokens.lifetime, tokens.announced = 3.0, announced
    spec = ImageSpec("registry.acme.dev/a/big:1.0", layer_sizes=(5 * MIB,), platforms=("x/y",))
    write_layout(tmp_path / "layout", [spec], seed=9)
    client = client_for(server, "team")
    graph = read_layout(tmp_path / "layout")
    plan = plan_push(graph, client)
    summary = apply_push(
        plan, client, journal=UploadJournal(None), observer=Slow(), settings=CHUNKS, workers=1
    )
    # Announced: a new token before each runs out, nothing refused. Dying early: the refused
    # chunk is sent again (resumed at the last committed chunk, not from byte 0).
    resent = 0 if announced < 60 else 3 * CHUNKS.chunk_size
    assert plan.bytes_to_send <= summary.bytes_sent <= plan.bytes_to_send + resent
    assert tokens.issued >= 3  # fetched again during the upload
    assert plan_push(graph, client).bytes_to_send == 0
