"""Hostile input never takes the hub down: bounded bodies, depths, integers and work.

Aspects (each a finding of the security review): a body that trickles in is cut off with 408; JSON
nested past the limit is 400 at enroll, reports and uploads; `seq` 2⁶³ and a query `before_seq`
past 2⁶³ are 400, never 5xx; absurd usage is refused before it is stored, and the page still
renders whatever the store holds; an upload's work is bounded (lines, signatures per line);
`/healthz` answers while ingest work is in progress.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from agent.sync import report
from bundle import dsse
from hub.app import HubApp, Limits
from hub.service import MAX_UPLOAD_LINES
from hub.store import StoredReport
from tests.unit.hub.hubkit import HubKit, ServedHub, run
from tests.unit.hub.test_ingest import Agent, enroll

# Each test runs on SQLite and on PostgreSQL (see conftest).
pytestmark = pytest.mark.usefixtures("backend")


def call(kit: HubKit, method: str, path: str, body: bytes = b"", **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.request(method, path, content=body or None, headers=headers)

    return run(go())


@pytest.fixture
def kit() -> HubKit:
    return HubKit()


@pytest.fixture
def agent(kit: HubKit) -> Agent:
    key, agent_id = enroll(kit)
    return Agent(kit, key, agent_id)


def signed(agent: Agent, change: dict[str, object]) -> bytes:
    """The agent's next report with fields replaced, signed by its real key."""
    doc = json.loads(dsse.parse(agent.next()).payload)
    doc.update(change)
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return report.sign_report(text, agent.key)


def test_a_body_that_trickles_in_is_cut_off_with_408(kit: HubKit) -> None:
    app = HubApp(kit.hub, Limits(body_seconds=0.5))
    with ServedHub(app) as served, socket.create_connection(("127.0.0.1", served.port)) as conn:
        conn.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        conn.settimeout(10)
        answer = b""
        while b"too_slow" not in answer and (chunk := conn.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"too_slow" in answer


@pytest.mark.parametrize("path", ["/v1/enroll", "/v1/agents/{agent}/reports", "/v1/uploads"])
def test_deep_json_is_400_everywhere(kit: HubKit, agent: Agent, path: str) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        answer = call(kit, "POST", path.format(agent=agent.state.agent_id), body)
        if path == "/v1/uploads":  # an upload answers per line
            assert answer.json()["results"][0]["status"] == 400, answer.text
        else:
            assert answer.status_code == 400, answer.text
        assert "malformed" in answer.text


def test_a_signed_report_nested_past_the_limit_is_refused(kit: HubKit, agent: Agent) -> None:
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    answer = call(
        kit, "POST", f"/v1/agents/{agent.state.agent_id}/reports", signed(agent, {"x": deep})
    )
    assert answer.status_code == 400
    assert "nests deeper" in answer.json()["error"]["message"]
    assert kit.report_count() == 0


@pytest.mark.parametrize("seq", [2**63, 2**64 + 1, 10**400])
def test_seq_at_or_past_two_to_the_63_is_400(kit: HubKit, agent: Agent, seq: int) -> None:
    answer = call(
        kit, "POST", f"/v1/agents/{agent.state.agent_id}/reports", signed(agent, {"seq": seq})
    )
    assert answer.status_code == 400, answer.text
    assert kit.report_count() == 0


def test_the_largest_seq_is_still_stored(kit: HubKit, agent: Agent) -> None:
    body = signed(agent, {"seq": 2**63 - 1})
    assert call(kit, "POST", f"/v1/agents/{agent.state.agent_id}/reports", body).status_code == 202
    listed = call(kit, "GET", f"/v1/agents/{agent.state.agent_id}/reports", **kit.reading())
    assert listed.json()["reports"][0]["seq"] == 2**63 - 1


@pytest.mark.parametrize("query", ["before_seq=99999999999999999999", "before_seq=-1",
                                   "limit=99999999999999999999", "before_seq=1e3"])  # fmt: skip
def test_out_of_range_query_numbers_are_400(kit: HubKit, agent: Agent, query: str) -> None:
    path = f"/v1/agents/{agent.state.agent_id}/reports?{query}"
    answer = call(kit, "GET", path, **kit.reading())
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    ("usage", "status"),
    [({"cpu_millicores": 10**400}, 400), ({"cpu_millicores": 10**13}, 422),
     ({"memory_bytes": -1}, 422), ({"pods": True}, 422), ({"pods": 1.5}, 422)],
)  # fmt: skip
def test_absurd_usage_is_refused_before_it_is_stored(
    kit: HubKit, agent: Agent, usage: dict[str, object], status: int
) -> None:
    doc = json.loads(dsse.parse(agent.next()).payload)
    summary = {**doc["summary"], "usage": {**doc["summary"]["usage"], **usage}}
    agent.count = 0
    answer = call(kit, "POST", f"/v1/agents/{agent.state.agent_id}/reports",
                  signed(agent, {"summary": summary}))  # fmt: skip
    assert answer.status_code == status, answer.text
    assert kit.report_count() == 0


def test_the_page_renders_whatever_the_store_holds(kit: HubKit, agent: Agent) -> None:
    doc = json.loads(dsse.parse(agent.next()).payload)
    doc["summary"]["usage"]["cpu_millicores"] = 10**400
    doc["bundle"] = {"version": ["not", "text"]}
    payload = json.dumps(doc).encode()
    stored = StoredReport(agent.state.agent_id, 1, "n", "0" * 64, kit.clock(), kit.clock(),
                          False, b"{}", payload, b"{}")  # fmt: skip
    assert kit.store.add_report(stored)
    page = call(kit, "GET", "/", **kit.reading())
    assert page.status_code == 200
    assert agent.state.agent_id in page.text


def test_an_upload_does_bounded_work(kit: HubKit, agent: Agent) -> None:
    line = json.loads(agent.next())
    line["signatures"] = line["signatures"] * 64
    many = call(kit, "POST", "/v1/uploads", json.dumps(line).encode())
    assert many.json()["results"][0]["error"]["code"] == "malformed"
    assert "signatures" in many.json()["results"][0]["error"]["message"]
    lines = b"\n".join([agent.next()] * (MAX_UPLOAD_LINES + 1))
    too_many = call(kit, "POST", "/v1/uploads", lines)
    assert too_many.status_code == 413
    assert kit.report_count() == 0


class GatedStore:
    """The real store, except that `add_report` waits for a gate: ingest work in progress."""

    def __init__(self, kit: HubKit) -> None:
        self.inner, self.gate, self.entered = kit.store, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def add_report(self, stored: StoredReport) -> bool:
        self.entered.set()
        self.gate.wait(30)
        return self.inner.add_report(stored)


def test_healthz_answers_while_ingest_is_busy(kit: HubKit, agent: Agent) -> None:
    gated = GatedStore(kit)
    kit.hub.store = gated  # type: ignore[assignment]
    body, path = agent.next(), f"/v1/agents/{agent.state.agent_id}/reports"
    with ServedHub(HubApp(kit.hub)) as served:
        posting = threading.Thread(target=httpx.post, args=(served.url + path,),
                                   kwargs={"content": body, "timeout": 30})  # fmt: skip
        posting.start()
        assert gated.entered.wait(10)
        started = time.monotonic()
        health = httpx.get(served.url + "/healthz", timeout=5)
        answered_in = time.monotonic() - started
        gated.gate.set()
        posting.join(30)
    assert health.status_code == 200
    assert answered_in < 5
    assert kit.report_count() == 1
