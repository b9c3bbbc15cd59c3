"""Registry authentication: Basic and the Bearer token challenge flow, as an `httpx.Auth`.

The flow: send the request; on 401 read `WWW-Authenticate`; for `Basic` attach the credentials
(and keep attaching them), for `Bearer realm=…,service=…,scope=…` fetch a token from the realm
(with the credentials, if any) and retry. Tokens are cached per repository so later requests
(PATCH/PUT with streamed bodies, which cannot be replayed) carry them from the start.

Secrets never appear in a repr or an error message; only the user name does.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from airgap.errors import RegistryAuthError

_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs|manifests|tags|referrers)/")


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret; the secret is excluded from repr and equality output."""

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='<redacted>')"


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse one `WWW-Authenticate` challenge (`Basic realm=…` or `Bearer realm=…,…`)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest)))


def repository_of(path: str) -> str:
    """Repository name a `/v2/<name>/…` request path is about ("" for `/v2/`)."""
    match = _REPO_PATH.match(path)
    return match["name"] if match else ""


class RegistryAuth(httpx.Auth):
    """Answers Basic and Bearer challenges; thread-safe token cache keyed by repository."""

    requires_response_body = True

    def __init__(self, credentials: Credentials | None, registry: str) -> None:
        self._credentials = credentials
        self._registry = registry
        self._basic = False
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        user = self._credentials.username if self._credentials else None
        return f"RegistryAuth(registry={self._registry!r}, username={user!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._apply(request)
        sent = request.headers.get("Authorization", "")
        response = yield request
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        # A streamed body is spent once sent: the caller's retry logic deals with those 401s.
        if response.status_code != 401 or challenge is None or not _replayable(request):
            return
        if challenge.scheme == "basic" and self._credentials and not sent.startswith("Basic "):
            self._basic = True  # other threads may have learnt it meanwhile: same outcome
        elif challenge.scheme == "bearer":
            token_response = yield self._token_request(challenge)
            self._store_token(request, token_response)
        else:
            return
        self._apply(request)
        yield request

    def _apply(self, request: httpx.Request) -> None:
        # Never hand credentials to another host (e.g. an upload Location pointing elsewhere).
        if request.url.netloc.decode("ascii") != self._registry:
            return
        with self._lock:
            token = self._tokens.get(repository_of(request.url.path))
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._basic and self._credentials:
            request.headers["Authorization"] = _basic_header(self._credentials)

    def _token_request(self, challenge: Challenge) -> httpx.Request:
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(
                f"registry {self._registry} sent a Bearer challenge "
                f"without a usable realm ({realm!r})",
                401,
            )
        params = {k: v for k, v in challenge.params.items() if k in ("service", "scope")}
        request = httpx.Request("GET", realm, params=params)
        if self._credentials:
            request.headers["Authorization"] = _basic_header(self._credentials)
        return request

    def _store_token(self, request: httpx.Request, response: httpx.Response) -> None:
        if response.status_code != 200:
            user = f" for user '{self._credentials.username}'" if self._credentials else ""
            raise RegistryAuthError(
                f"token service {response.request.url.host} of registry {self._registry} refused "
                f"a token{user} (HTTP {response.status_code}): check --username and the "
                "password given on stdin",
                response.status_code,
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(
                f"token service of registry {self._registry} answered without a token",
                response.status_code,
            )
        with self._lock:
            self._tokens[repository_of(request.url.path)] = token


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


def _basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
