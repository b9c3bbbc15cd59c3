"""The registry session against an in-process fake registry (httpx.MockTransport).

Covers: the Bearer challenge flow (token fetched once per repository with the credentials),
Basic auth, explicit Content-Length on streamed bodies (never chunked encoding), bounded
retries on 503, clear terminal errors on 500/401, and secrets kept out of reprs and messages.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from airgap.auth import Credentials, parse_challenge
from airgap.errors import RegistryAuthError, RegistryError
from airgap.registry import RegistryClient
from airgap.session import RegistrySession, RetryPolicy
from refs.address import parse_address

DIGEST = "sha256:" + "a" * 64
CREDS = Credentials("importer", "hunter2-secret")


class FakeRegistry:
    """Bearer-protected registry plus its token service; records every request."""

    def __init__(self, fail_statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.fail = list(fail_statuses or [])
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "auth.test":
            return self.token(request)
        if request.headers.get("Authorization", "") != "Bearer tok":
            challenge = (
                'Bearer realm="https://auth.test/token",service="reg",scope="repository:r:push"'
            )
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        if self.fail:
            status = self.fail.pop(0)
            return httpx.Response(status, json={"errors": [{"code": "UNKNOWN", "message": "disk"}]})
        return self.serve(request)

    def token(self, request: httpx.Request) -> httpx.Response:
        good = "Basic " + base64.b64encode(b"importer:hunter2-secret").decode()
        if request.headers.get("Authorization") != good:
            return httpx.Response(401)
        return httpx.Response(200, json={"token": "tok"})

    def serve(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u1?_state=x"})
        self.bodies.append(request.read())
        return httpx.Response(201, headers={"Docker-Content-Digest": DIGEST})


def client_for(fake: FakeRegistry, sleeps: list[float] | None = None) -> RegistryClient:
    session = RegistrySession(
        parse_address("reg.test"),
        CREDS,
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(attempts=3),
        sleep=(sleeps if sleeps is not None else []).append,
    )
    return RegistryClient(session)


def test_bearer_token_is_fetched_once_with_credentials_and_reused() -> None:
    fake = FakeRegistry()
    client = client_for(fake)
    assert not client.blob_exists("r", DIGEST)
    assert client.start_upload("r").startswith("https://reg.test/v2/r/blobs/uploads/u1")
    token_requests = [r for r in fake.requests if r.url.host == "auth.test"]
    assert len(token_requests) == 1
    assert token_requests[0].url.params["scope"] == "repository:r:push"


def test_streamed_put_sends_content_length_not_chunked() -> None:
    fake = FakeRegistry()
    client = client_for(fake)
    location = client.start_upload("r")

    def body() -> Iterator[bytes]:
        yield b"abc"
        yield b"def"

    client.finish_upload(location, DIGEST, body(), 6, "uploading")
    put = fake.requests[-1]
    assert put.headers["Content-Length"] == "6"
    assert "Transfer-Encoding" not in put.headers
    assert put.url.params["digest"] == DIGEST
    assert put.url.params["_state"] == "x"
    assert fake.bodies == [b"abcdef"]


def test_gateway_errors_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    fake = FakeRegistry(fail_statuses=[503, 502])
    assert not client_for(fake, sleeps).blob_exists("r", DIGEST)
    assert sleeps == [0.5, 1.0]


def test_storage_error_is_terminal_and_explained() -> None:
    fake = FakeRegistry(fail_statuses=[500])
    with pytest.raises(
        RegistryError, match=r"failed while starting an upload to r \(HTTP 500: UNKNOWN disk\)"
    ):
        client_for(fake).start_upload("r")


def test_wrong_password_at_the_token_service_is_an_auth_error_without_the_secret() -> None:
    fake = FakeRegistry()
    session = RegistrySession(
        parse_address("reg.test"),
        Credentials("importer", "wrong-pw"),
        transport=httpx.MockTransport(fake),
    )
    with pytest.raises(RegistryAuthError) as caught:
        RegistryClient(session).blob_exists("r", DIGEST)
    assert "user 'importer'" in str(caught.value)
    assert "wrong-pw" not in str(caught.value)


def test_secrets_stay_out_of_reprs() -> None:
    fake = FakeRegistry()
    client = client_for(fake)
    for text in (repr(CREDS), repr(client.session), repr(client.session._client.auth)):
        assert "hunter2" not in text


def test_credentials_are_not_sent_to_another_host() -> None:
    fake = FakeRegistry()
    client = client_for(fake)
    client.blob_exists("r", DIGEST)
    with pytest.raises(RegistryError):
        client.session.request(
            "GET", "https://elsewhere.test/v2/r/blobs/uploads/u1", what="probing", expect=(204,)
        )
    assert "Authorization" not in fake.requests[-1].headers


def test_challenge_parsing() -> None:
    challenge = parse_challenge('Bearer realm="https://a/t",service="s",scope="repository:x:pull"')
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://a/t",
        "service": "s",
        "scope": "repository:x:pull",
    }


def test_basic_auth_is_learnt_once_and_survives_concurrent_first_requests() -> None:
    good = "Basic " + base64.b64encode(b"importer:hunter2-secret").decode()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != good:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(404)

    session = RegistrySession(
        parse_address("reg.test"), CREDS, transport=httpx.MockTransport(handler)
    )
    client = RegistryClient(session)
    with ThreadPoolExecutor(4) as pool:
        assert not any(pool.map(lambda i: client.blob_exists(f"r{i}", DIGEST), range(8)))
    assert client.blob_exists("again", DIGEST) is False
    assert seen[-1] == good
