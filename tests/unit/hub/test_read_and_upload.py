"""The hub's upload of exported files, its read API, its OpenAPI document and its HTML page.

Aspects: an agent's export (enrollment + spooled + fresh report) uploads in one request; uploading
again only finds duplicates; a bad line is refused alone; the OpenAPI document describes exactly
the served routes; the fleet page shows installs and escapes agent-supplied text.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from agent.sync import report
from agent.sync.state import SyncState
from bundle import dsse
from hub import openapi
from tests.unit.hub.hubkit import HubKit, agent, run, snapshot
from wire import protocol

# Each test runs on SQLite and on PostgreSQL (see conftest).
pytestmark = pytest.mark.usefixtures("backend")


def call(kit: HubKit, method: str, path: str, body: bytes = b"", token: str = "") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET" and not token:
        headers = kit.reading()

    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.request(method, path, content=body or None, headers=headers)

    return run(go())


def exported(kit: HubKit, reports: int = 2) -> bytes:
    cycle, _ = agent()
    for _ in range(reports - 1):
        run(cycle.produce(snapshot(), kit.clock.advance(60), f"n{kit.clock().timestamp()}"))
    return run(cycle.export(snapshot(), kit.clock.advance(60), "fresh"))


def test_an_export_uploads_with_its_enrollment_and_reports() -> None:
    kit = HubKit()
    data = exported(kit, reports=3)
    answer = call(kit, "POST", "/v1/uploads", data, kit.hub.create_token())
    assert answer.status_code == 200
    result = answer.json()
    assert (result["accepted"], result["rejected"]) == (4, 0)
    assert [r["status"] for r in result["results"]] == [201, 202, 202, 202]
    assert kit.report_count() == 3
    again = call(kit, "POST", "/v1/uploads", data).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 4, 0)
    assert kit.report_count() == 3


def test_a_bad_line_is_refused_alone() -> None:
    kit = HubKit()
    lines = exported(kit).splitlines()
    data = b"\n".join([lines[0], b"{broken", *lines[1:]]) + b"\n"
    result = call(kit, "POST", "/v1/uploads", data, kit.hub.create_token()).json()
    assert [r["status"] for r in result["results"]] == [201, 400, 202, 202]
    assert result["results"][1]["error"]["code"] == "malformed"


def test_reports_of_an_unenrolled_export_are_refused_without_a_token() -> None:
    kit = HubKit()
    result = call(kit, "POST", "/v1/uploads", exported(kit)).json()
    assert [r["status"] for r in result["results"]] == [401, 404, 404]
    assert kit.report_count() == 0


def test_openapi_describes_every_served_route() -> None:
    kit = HubKit()
    doc = call(kit, "GET", "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert doc == json.loads(json.dumps(openapi.document()))
    assert set(doc["paths"]) == {
        "/v1/enroll", "/v1/agents/{agent_id}/reports", "/v1/agents/{agent_id}/keys",
        "/v1/uploads", "/v1/agents", "/", "/openapi.json", "/healthz", "/login", "/logout",
        "/v1/usage", "/metrics", "/readyz",
        "/v1/enrollment-tokens", "/v1/access-tokens/{name}/revoke",
        "/v1/agents/{agent_id}/support-bundles", "/v1/agents/{agent_id}/support-bundles/{sha256}",
    }  # fmt: skip
    assert set(doc["paths"]["/v1/agents/{agent_id}/reports"]) == {"get", "post"}


def test_reading_reports_of_an_unknown_agent_is_404() -> None:
    answer = call(HubKit(), "GET", "/v1/agents/agt_" + "b" * 32 + "/reports")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_agent"


def test_the_fleet_page_lists_installs_and_escapes_agent_text() -> None:
    kit = HubKit()
    call(kit, "POST", "/v1/uploads", exported(kit), kit.hub.create_token())
    cycle, store = agent()
    call(kit, "POST", "/v1/uploads", run(cycle.export(snapshot(), kit.clock(), "x")),
         kit.hub.create_token())  # fmt: skip
    assert store.state is not None
    key = store.key
    assert key is not None
    state = SyncState(agent_id=store.state.agent_id, seq=store.state.seq,
                      last_sha256=store.state.last_sha256)  # fmt: skip
    payload, _ = report.build_report(snapshot(), state, kit.clock.advance(5), "evil")
    doc = json.loads(payload)
    doc["bundle"]["version"] = "<script>alert(1)</script>"
    body = report.sign_report(protocol.encode(doc), key)
    assert call(kit, "POST", f"/v1/agents/{state.agent_id}/reports", body).status_code == 202
    page = call(kit, "GET", "/")
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert page.text.count("<tr>") == 3  # header + two installs
    assert "content-security-policy" in page.headers


def test_stored_envelopes_can_be_verified_again() -> None:
    kit = HubKit()
    call(kit, "POST", "/v1/uploads", exported(kit), kit.hub.create_token())
    agent_id = kit.store.agents()[0].agent_id
    listed = call(kit, "GET", f"/v1/agents/{agent_id}/reports").json()["reports"]
    public = protocol.public_key_from_b64(kit.store.agents()[0].public_key, "key")
    for entry in listed:
        envelope = dsse.parse(json.dumps(entry["envelope"]).encode())
        header, payload = protocol.open_report(envelope, protocol.keyring(public))
        assert header.seq == entry["seq"]
        assert base64.b64encode(payload).decode() == entry["envelope"]["payload"]
