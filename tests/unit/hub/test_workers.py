"""`outpost hub serve --workers 2` on PostgreSQL: two processes, one database, no double accept.

Aspects: the real command serves with two uvicorn worker processes; requests racing for the
same agent `seq` (different nonces), or for the same nonce (different `seq`), are accepted exactly
once, whichever process takes them; SQLite with more than one worker is refused with a clear
message before anything starts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync import report
from agent.sync.state import SyncState
from hub.cli import hub, open_store
from hub.errors import HubError
from hub.service import Hub
from tests.unit.hub.hubkit import snapshot
from tests.unit.hub.pgserver import PgServer
from wire import enrollment, protocol
from wire.keys import key_to_pem

OUTPOST = str(Path(sys.executable).parent / "outpost")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(pg: PgServer, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(hub URL, database URL) of `outpost hub serve --workers 2` on a fresh schema."""
    db = pg.fresh_schema()
    key = tmp_path / "hub.pem"
    key.write_bytes(key_to_pem(Ed25519PrivateKey.generate()))
    port = free_port()
    argv = [OUTPOST, "hub", "serve", "--db", db, "--hub-key", str(key), "--workers", "2",
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    log = (tmp_path / "hub.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url, db
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the hub exited early"
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the hub did not become ready within 60 s")


def enrolled(url: str, db: str) -> tuple[Ed25519PrivateKey, str]:
    store = open_store(db)
    token = Hub(store, Ed25519PrivateKey.generate()).create_token()
    store.close()
    key = Ed25519PrivateKey.generate()
    when = protocol.parse_time(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "now")
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n-enroll", when))
    answer = httpx.post(url + "/v1/enroll", content=body, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return key, protocol.agent_id_for(key.public_key())


def signed(key: Ed25519PrivateKey, agent_id: str, seq: int, nonce: str) -> bytes:
    state = SyncState(agent_id=agent_id, seq=seq - 1)
    when = protocol.parse_time(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "now")
    payload, _ = report.build_report(snapshot(), replace(state), when, nonce)
    return report.sign_report(payload, key)


def race(url: str, path: str, bodies: list[bytes]) -> list[int]:
    """Post every body at the same moment, each on its own connection."""
    barrier, statuses = threading.Barrier(len(bodies)), [0] * len(bodies)

    def go(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            client.get("/healthz")  # connect first, so the posts leave together
            barrier.wait()
            statuses[index] = client.post(path, content=bodies[index]).status_code

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_two_workers_never_both_accept_a_report(served: tuple[str, str]) -> None:
    url, db = served
    key, agent_id = enrolled(url, db)
    path = f"/v1/agents/{agent_id}/reports"
    for round_ in range(6):
        seq = 10 * round_ + 1
        same_seq = [signed(key, agent_id, seq, f"r{round_}-{i}") for i in range(6)]
        statuses = race(url, path, same_seq)
        assert sorted(statuses) == [202] + [409] * 5, statuses
        same_nonce = [signed(key, agent_id, seq + 1 + i, f"dup-{round_}") for i in range(4)]
        statuses = race(url, path, same_nonce)
        assert statuses.count(202) <= 1, statuses
        assert set(statuses) <= {202, 409}, statuses
    store = open_store(db)
    seqs = [r.seq for r in store.reports(agent_id, 500, None)]
    nonces = store.run("SELECT nonce FROM reports")  # type: ignore[attr-defined]
    store.close()
    assert len(seqs) == len(set(seqs))
    assert len(nonces) == len({n[0] for n in nonces})


def test_sqlite_with_several_workers_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "hub.pem"
    key.write_bytes(key_to_pem(Ed25519PrivateKey.generate()))
    argv = ["serve", "--db", f"sqlite:///{tmp_path / 'hub.db'}", "--hub-key", str(key),
            "--workers", "2"]  # fmt: skip
    result = CliRunner().invoke(hub, argv)
    assert isinstance(result.exception, HubError)
    assert "needs PostgreSQL" in str(result.exception)
    assert not (tmp_path / "hub.db").exists()
