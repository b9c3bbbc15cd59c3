"""The reference hub over its real HTTP interface (in-process ASGI, SQLite in memory).

Aspects: enrollment with a one-time token; reports flowing with signed acks and a chain; every
refusal (forged signature, wrong key, replay, old seq, oversized, malformed, unknown agent, reused
token, clock window, wrong payload type) answered with a clear JSON error and nothing stored;
exact duplicates acknowledged again without a second row; chain gaps flagged; key rotation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync import report
from agent.sync.state import SyncState
from bundle import dsse
from tests.unit.hub.hubkit import HubKit, run, snapshot
from wire import enrollment, protocol
from wire.ack import open_ack

# Each test runs on SQLite and on PostgreSQL (see conftest).
pytestmark = pytest.mark.usefixtures("backend")


def post(kit: HubKit, path: str, body: bytes, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.post(path, content=body, headers=headers)

    return run(go())


def get(kit: HubKit, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.get(path, headers=kit.reading())

    return run(go())


def enroll(kit: HubKit, key: Ed25519PrivateKey | None = None) -> tuple[Ed25519PrivateKey, str]:
    key = key or Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n-enroll", kit.clock()))
    answer = post(kit, "/v1/enroll", body, kit.hub.create_token())
    assert answer.status_code == 201, answer.text
    return key, protocol.agent_id_for(key.public_key())


class Agent:
    """Signs successive reports the way the agent does (seq, chain), for direct posting."""

    def __init__(self, kit: HubKit, key: Ed25519PrivateKey, agent_id: str) -> None:
        self.kit, self.key = kit, key
        self.state = SyncState(agent_id=agent_id)
        self.count = 0

    def next(self, **state_changes: object) -> bytes:
        self.count += 1
        state = replace(self.state, **state_changes)  # type: ignore[arg-type]
        payload, self.state = report.build_report(
            snapshot(), state, self.kit.clock(), f"nonce-{self.count}"
        )
        return report.sign_report(payload, self.key)


@pytest.fixture
def kit() -> HubKit:
    return HubKit()


@pytest.fixture
def agent(kit: HubKit) -> Agent:
    key, agent_id = enroll(kit)
    return Agent(kit, key, agent_id)


def reports_path(agent_id: str) -> str:
    return f"/v1/agents/{agent_id}/reports"


def assert_refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_enrollment_binds_the_key_and_returns_a_signed_ack(kit: HubKit) -> None:
    key = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n1", kit.clock()))
    answer = post(kit, "/v1/enroll", body, kit.hub.create_token())
    assert answer.status_code == 201
    agent_id = protocol.agent_id_for(key.public_key())
    sha = protocol.sha256_hex(dsse.parse(body).payload)
    ack = open_ack(answer.content, protocol.keyring(kit.key.public_key()), agent_id, sha)
    assert ack.kind == "enroll"
    assert [a["agent_id"] for a in get(kit, "/v1/agents").json()["agents"]] == [agent_id]


def test_the_token_is_stored_only_as_its_hash(kit: HubKit) -> None:
    token = kit.hub.create_token()
    dump = repr(kit.store.run("SELECT * FROM tokens"))
    assert token not in dump
    assert protocol.sha256_hex(token.encode()) in dump


def test_reports_flow_in_order_with_acks_and_an_unbroken_chain(kit: HubKit, agent: Agent) -> None:
    for seq in (1, 2, 3):
        kit.clock.advance(60)
        answer = post(kit, reports_path(agent.state.agent_id), agent.next())
        assert answer.status_code == 202
        ack = json.loads(dsse.parse(answer.content).payload)
        assert (ack["seq"], ack["chain_gap"]) == (seq, False)
    listed = get(kit, reports_path(agent.state.agent_id) + "?limit=10").json()["reports"]
    assert [r["seq"] for r in listed] == [3, 2, 1]
    assert listed[0]["report"]["summary"]["tenants"]["total"] == 3


def test_an_exact_duplicate_gets_the_same_ack_and_is_stored_once(kit: HubKit, agent: Agent) -> None:
    body = agent.next()
    first = post(kit, reports_path(agent.state.agent_id), body)
    again = post(kit, reports_path(agent.state.agent_id), body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.content == first.content
    assert kit.report_count() == 1


def test_a_gap_in_the_chain_is_flagged_not_refused(kit: HubKit, agent: Agent) -> None:
    post(kit, reports_path(agent.state.agent_id), agent.next())
    agent.next()  # signed but never delivered
    answer = post(kit, reports_path(agent.state.agent_id), agent.next())
    assert answer.status_code == 202
    assert json.loads(dsse.parse(answer.content).payload)["chain_gap"] is True


def forged(body: bytes) -> bytes:
    doc = json.loads(body)
    payload = json.loads(dsse.b64decode(doc["payload"]))
    payload["summary"]["tenants"]["ready"] = 999
    doc["payload"] = dsse.base64.b64encode(protocol.encode(payload)).decode()
    return json.dumps(doc).encode()


def other_key(body: bytes) -> bytes:
    envelope = dsse.parse(body)
    return report.sign_report(envelope.payload, Ed25519PrivateKey.generate())


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        pytest.param(forged, 401, "signature_invalid", id="forged-payload"),
        pytest.param(other_key, 401, "signature_invalid", id="wrong-key"),
        pytest.param(lambda b: b"{not json", 400, "malformed", id="malformed-json"),
        pytest.param(lambda b: b"[1, 2]", 400, "malformed", id="not-an-envelope"),
        pytest.param(lambda b: b"x" * (protocol.MAX_BODY_BYTES + 1), 413, "too_large", id="big"),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_stored(
    kit: HubKit, agent: Agent, mutate: object, status: int, code: str
) -> None:
    assert callable(mutate)
    answer = post(kit, reports_path(agent.state.agent_id), mutate(agent.next()))
    assert_refused(answer, status, code)
    assert kit.report_count() == 0
    assert kit.store.agent(agent.state.agent_id).last_seq == 0  # type: ignore[union-attr]


def test_a_replayed_nonce_under_a_new_seq_is_refused(kit: HubKit, agent: Agent) -> None:
    post(kit, reports_path(agent.state.agent_id), agent.next())
    agent.count = 0  # the next report reuses the first nonce
    assert_refused(post(kit, reports_path(agent.state.agent_id), agent.next()), 409, "replay")
    assert kit.report_count() == 1


def test_an_old_seq_is_refused(kit: HubKit, agent: Agent) -> None:
    old = agent.next()
    post(kit, reports_path(agent.state.agent_id), agent.next())
    assert_refused(post(kit, reports_path(agent.state.agent_id), old), 409, "replay")
    assert kit.report_count() == 1


@pytest.mark.parametrize("shift", [timedelta(minutes=10), -timedelta(days=8)])
def test_reports_outside_the_time_window_are_refused(
    kit: HubKit, agent: Agent, shift: timedelta
) -> None:
    body = agent.next()
    kit.clock.now -= shift
    answer = post(kit, reports_path(agent.state.agent_id), body)
    assert answer.status_code == 422
    assert kit.report_count() == 0


def test_an_unknown_agent_is_refused(kit: HubKit) -> None:
    stranger = Agent(kit, Ed25519PrivateKey.generate(), "agt_" + "a" * 32)
    assert_refused(
        post(kit, reports_path("agt_" + "a" * 32), stranger.next()), 404, "unknown_agent"
    )
    assert kit.report_count() == 0


def test_a_report_under_another_agents_id_is_refused(kit: HubKit, agent: Agent) -> None:
    _, second = enroll(kit)
    answer = post(kit, reports_path(second), agent.next())
    assert_refused(answer, 401, "signature_invalid")
    assert kit.report_count() == 0


def test_an_enrollment_token_works_once(kit: HubKit) -> None:
    token = kit.hub.create_token()
    first = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(first, "uid-1", "n1", kit.clock()))
    assert post(kit, "/v1/enroll", body, token).status_code == 201
    second = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(second, "uid-2", "n2", kit.clock()))
    assert_refused(post(kit, "/v1/enroll", body, token), 409, "token_used")
    assert kit.agent_count() == 1


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "token_missing"), ("ept_guess", 401, "token_invalid")],
)
def test_enrollment_without_a_valid_token_is_refused(
    kit: HubKit, token: str | None, status: int, code: str
) -> None:
    key = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n1", kit.clock()))
    assert_refused(post(kit, "/v1/enroll", body, token), status, code)
    assert kit.agent_count() == 0


def test_an_expired_token_is_refused(kit: HubKit) -> None:
    token = kit.hub.create_token(timedelta(hours=1))
    kit.clock.advance(7200)
    key = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n1", kit.clock()))
    assert_refused(post(kit, "/v1/enroll", body, token), 403, "token_expired")


def test_an_enrollment_signed_by_another_key_is_refused(kit: HubKit) -> None:
    key, thief = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    claim = enrollment.EnrollClaim("uid-1", key.public_key(), "n1", kit.clock())
    envelope = dsse.sign(dsse.PAYLOAD_ENROLL, protocol.encode(claim.to_dict()), [thief])
    answer = post(kit, "/v1/enroll", report.compact(envelope), kit.hub.create_token())
    assert_refused(answer, 401, "signature_invalid")
    assert kit.agent_count() == 0


def test_a_status_report_posted_as_enrollment_is_refused(kit: HubKit, agent: Agent) -> None:
    answer = post(kit, "/v1/enroll", agent.next(), kit.hub.create_token())
    assert_refused(answer, 415, "wrong_type")


def test_key_rotation_needs_both_keys_and_then_the_new_key_reports(
    kit: HubKit, agent: Agent
) -> None:
    new = Ed25519PrivateKey.generate()
    path = f"/v1/agents/{agent.state.agent_id}/keys"
    lone = dsse.sign(
        dsse.PAYLOAD_KEY_ROTATION,
        protocol.encode(
            enrollment.KeyRotation(
                agent.state.agent_id, new.public_key(), "r0", kit.clock()
            ).to_dict()
        ),
        [new],
    )
    assert_refused(post(kit, path, report.compact(lone)), 401, "signature_invalid")
    rotation = enrollment.sign_rotation(agent.state.agent_id, agent.key, new, "r1", kit.clock())
    assert post(kit, path, report.compact(rotation)).status_code == 200
    agent.key = new
    assert post(kit, reports_path(agent.state.agent_id), agent.next()).status_code == 202


def test_unknown_paths_and_methods_answer_json_errors(kit: HubKit) -> None:
    assert_refused(get(kit, "/v1/nothing"), 404, "not_found")
    assert_refused(post(kit, "/v1/agents/agt_x/reports", b"{}"), 404, "not_found")


def test_a_rotation_can_be_redone_from_the_previous_key_during_its_grace(
    kit: HubKit, agent: Agent
) -> None:
    path = f"/v1/agents/{agent.state.agent_id}/keys"
    lost = enrollment.sign_rotation(
        agent.state.agent_id, agent.key, Ed25519PrivateKey.generate(), "r1", kit.clock()
    )
    assert post(kit, path, report.compact(lost)).status_code == 200  # the agent never saw this
    newer = Ed25519PrivateKey.generate()
    retry = enrollment.sign_rotation(agent.state.agent_id, agent.key, newer, "r2", kit.clock())
    assert post(kit, path, report.compact(retry)).status_code == 200
    agent.key = newer
    assert post(kit, reports_path(agent.state.agent_id), agent.next()).status_code == 202
