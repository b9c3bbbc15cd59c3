"""Readers of the hub authenticate: access tokens with a role, the login form's session cookie.

Aspects: without credentials the read API and the fleet page answer 401 (the page with its sign-in
form); a viewer reads; a revoked token (and its session) gets 401 at once; admin-only calls
(issuing enrollment tokens, revoking) refuse a viewer with 403 and never accept the cookie alone;
the CLI prints a token once and stores only its hash; agents still need no access token.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from hub import access
from hub.cli import hub, open_store
from hub.errors import HubError
from tests.unit.hub.hubkit import HubKit, run
from tests.unit.hub.test_ingest import Agent, enroll

# Each test runs on SQLite and on PostgreSQL (see conftest).
pytestmark = pytest.mark.usefixtures("backend")

READS = ("/", "/v1/agents", "/v1/agents/{agent}/reports")


def call(
    kit: HubKit, method: str, path: str, headers: dict[str, str] | None = None, **kw: object
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.request(method, path, headers=headers or {}, **kw)  # type: ignore[arg-type]

    return run(go())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def kit() -> HubKit:
    kit = HubKit()
    key, agent_id = enroll(kit)
    call(kit, "POST", f"/v1/agents/{agent_id}/reports", content=Agent(kit, key, agent_id).next())
    kit.agent_id = agent_id  # type: ignore[attr-defined]
    return kit


def paths(kit: HubKit) -> list[str]:
    return [p.format(agent=kit.agent_id) for p in READS]  # type: ignore[attr-defined]


def test_reads_without_credentials_are_401(kit: HubKit) -> None:
    for path in paths(kit):
        for headers in ({}, bearer("oat_guess"), {"Authorization": "Basic eDp5"}):
            answer = call(kit, "GET", path, headers)
            assert answer.status_code == 401, (path, headers)
            assert kit.agent_id not in answer.text  # type: ignore[attr-defined]
    page = call(kit, "GET", "/")
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in page.text


def test_a_viewer_reads_and_a_revoked_token_is_401_at_once(kit: HubKit) -> None:
    viewer = access.create(kit.store, "alice", "viewer", kit.clock())
    for path in paths(kit):
        assert call(kit, "GET", path, bearer(viewer)).status_code == 200, path
    access.revoke(kit.store, "alice", kit.clock())
    for path in paths(kit):
        assert call(kit, "GET", path, bearer(viewer)).status_code == 401, path


def test_admin_calls_refuse_a_viewer_with_403(kit: HubKit) -> None:
    viewer = access.create(kit.store, "bob", "viewer", kit.clock())
    issue = call(kit, "POST", "/v1/enrollment-tokens", bearer(viewer), json={})
    assert issue.status_code == 403
    assert issue.json()["error"]["code"] == "forbidden"
    revoke = call(kit, "POST", "/v1/access-tokens/bob/revoke", bearer(viewer))
    assert revoke.status_code == 403
    assert call(kit, "POST", "/v1/enrollment-tokens", json={}).status_code == 401
    assert call(kit, "GET", "/v1/agents", bearer(viewer)).status_code == 200


def test_an_admin_issues_enrollment_tokens_and_revokes_readers(kit: HubKit) -> None:
    admin = bearer(kit.reader)
    issued = call(kit, "POST", "/v1/enrollment-tokens", admin, json={"ttl_hours": 2})
    assert issued.status_code == 201
    assert kit.store.token(access.sha256_of(issued.json()["token"])) is not None
    viewer = access.create(kit.store, "carol", "viewer", kit.clock())
    assert call(kit, "POST", "/v1/access-tokens/carol/revoke", admin).status_code == 200
    assert call(kit, "GET", "/v1/agents", bearer(viewer)).status_code == 401
    assert call(kit, "POST", "/v1/access-tokens/carol/revoke", admin).status_code == 404


def test_the_login_form_opens_a_strict_http_only_session(kit: HubKit) -> None:
    viewer = access.create(kit.store, "dave", "viewer", kit.clock())
    wrong = call(kit, "POST", "/login", data={"token": "oat_wrong"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    opened = call(kit, "POST", "/login", data={"token": viewer})
    assert (opened.status_code, opened.headers["location"]) == (303, "/")
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    session = {"Cookie": cookie.split(";")[0]}
    page = call(kit, "GET", "/", session)
    assert page.status_code == 200
    assert kit.agent_id in page.text  # type: ignore[attr-defined]
    assert "<script" not in page.text  # works without JavaScript
    access.revoke(kit.store, "dave", kit.clock())
    assert call(kit, "GET", "/", session).status_code == 401


def test_a_session_cookie_alone_never_makes_admin_calls(kit: HubKit) -> None:
    opened = call(kit, "POST", "/login", data={"token": kit.reader})
    session = {"Cookie": opened.headers["set-cookie"].split(";")[0]}
    assert call(kit, "GET", "/v1/agents", session).status_code == 200
    assert call(kit, "POST", "/v1/enrollment-tokens", session, json={}).status_code == 401


def test_agents_report_without_any_access_token(kit: HubKit) -> None:
    key, agent_id = enroll(kit)
    answer = call(
        kit, "POST", f"/v1/agents/{agent_id}/reports", content=Agent(kit, key, agent_id).next()
    )
    assert answer.status_code == 202


def test_the_cli_prints_a_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    argv = ["access-token", "create", "--db", url, "--name", "ops", "--role", "admin"]
    made = CliRunner().invoke(hub, [*argv, "--output", "json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)["token"]
    assert token.encode() not in (tmp_path / "hub.db").read_bytes()
    store = open_store(url)
    record = store.access_token(access.sha256_of(token))
    assert record is not None
    assert (record.name, record.role) == ("ops", "admin")
    store.close()
    again = CliRunner().invoke(hub, argv)
    assert isinstance(again.exception, HubError)
    assert "exists already" in str(again.exception)
    revoked = CliRunner().invoke(hub, ["access-token", "revoke", "--db", url, "--name", "ops"])
    assert revoked.exit_code == 0, revoked.output
    store = open_store(url)
    assert store.access_token(access.sha256_of(token)).revoked_at is not None  # type: ignore[union-attr]
    store.close()
    bad_role = CliRunner().invoke(hub, ["access-token", "create", "--db", url, "--name", "x",
                                        "--role", "root"])  # fmt: skip
    assert bad_role.exit_code == 2
