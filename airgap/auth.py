"""Registry authentication: Basic and the Bearer token challenge flow, as an `httpx.Auth`.

The flow: send the request; on 401 read `WWW-Authenticate`; for `Basic` attach the credentials
(and keep attaching them), for `Bearer realm=…,service=…,scope=…` fetch a token from the realm
(with the credentials, if any) and retry. Tokens are cached per repository (a token service
grants scopes per repository) so later requests (PATCH/PUT with streamed bodies, which cannot be
replayed) carry them from the start. A token is fetched again, with the challenge that got it,
before its `expires_in` runs out, so a long push never sends a chunk with an expired token; a
streamed request refused anyway (revoked, clock skew) forgets the token, and the session marks
that 401 as retryable: the uploader resumes the blob at the last committed chunk.

Secrets never appear in a repr or an error message; only the user name does.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from airgap.errors import RegistryAuthError

_PARAM = re.compile(r'(\w+)="([^"]*)"')
DEFAULT_LIFETIME = 60.0  # seconds, when the token service says nothing (distribution spec)
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


@dataclass(frozen=True)
class Token:
    """A bearer token, when to fetch the next one, and the challenge to fetch it with."""

    value: str = field(repr=False)
    refresh_at: float
    challenge: Challenge


def refresh_time(now: float, lifetime: float) -> float:
    """Fetch again 30 s before expiry, or halfway through a lifetime shorter than a minute."""
    return now + max(lifetime - 30.0, lifetime / 2)


def with_push(scope: str, repo: str) -> str:
    """Ask for push as well as pull on `repo` itself, so that the one token cached for a
    repository serves the uploads that follow a read (the service grants what it allows)."""
    parts = []
    for item in scope.split(" "):
        kind, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        wanted = actions.split(",")
        upgrade = kind == "repository" and name == repo and "push" not in wanted
        parts.append(f"{kind}:{name}:{','.join([*wanted, 'push'])}" if upgrade else item)
    return " ".join(parts)


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

    def __init__(
        self,
        credentials: Credentials | None,
        registry: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._registry = registry
        self._clock = clock
        self._basic = False
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        user = self._credentials.username if self._credentials else None
        return f"RegistryAuth(registry={self._registry!r}, username={user!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's auth hook: the cached token of the repository; a new one on a 401 challenge."""
        repo = repository_of(request.url.path)
        stale = self._stale(repo) if self._ours(request) else None
        if stale is not None:
            self._store_token(repo, stale, (yield self._token_request(stale, repo)))
        self._apply(request)
        sent = request.headers.get("Authorization", "")
        response = yield request
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if response.status_code != 401 or challenge is None:
            return
        if not _replayable(request):
            # A streamed body is spent once sent: forget the token; the caller retries.
            with self._lock:
                self._tokens.pop(repo, None)
            return
        if challenge.scheme == "basic" and self._credentials and not sent.startswith("Basic "):
            self._basic = True  # other threads may have learnt it meanwhile: same outcome
        elif challenge.scheme == "bearer":
            self._store_token(repo, challenge, (yield self._token_request(challenge, repo)))
        else:
            return
        self._apply(request)
        yield request

    def _ours(self, request: httpx.Request) -> bool:
        return request.url.netloc.decode("ascii") == self._registry

    def _stale(self, repo: str) -> Challenge | None:
        """The challenge to fetch `repo`'s token again with, when its lifetime is nearly over."""
        with self._lock:
            token = self._tokens.get(repo)
        if token is None or self._clock() < token.refresh_at:
            return None
        return token.challenge

    def _apply(self, request: httpx.Request) -> None:
        # Never hand credentials to another host (e.g. an upload Location pointing elsewhere).
        if not self._ours(request):
            return
        with self._lock:
            token = self._tokens.get(repository_of(request.url.path))
        if token:
            request.headers["Authorization"] = f"Bearer {token.value}"
        elif self._basic and self._credentials:
            request.headers["Authorization"] = _basic_header(self._credentials)

    def _token_request(self, challenge: Challenge, repo: str) -> httpx.Request:
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(
                f"registry {self._registry} sent a Bearer challenge "
                f"without a usable realm ({realm!r})",
                401,
            )
        params = {k: v for k, v in challenge.params.items() if k in ("service", "scope")}
        if "scope" in params:
            params["scope"] = with_push(params["scope"], repo)
        request = httpx.Request("GET", realm, params=params)
        if self._credentials:
            request.headers["Authorization"] = _basic_header(self._credentials)
        return request

    def _store_token(self, repo: str, challenge: Challenge, response: httpx.Response) -> None:
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
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, DEFAULT_LIFETIME
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(
                f"token service of registry {self._registry} answered without a token",
                response.status_code,
            )
        entry = Token(token, refresh_time(self._clock(), lifetime), challenge)
        with self._lock:
            self._tokens[repo] = entry


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


def _basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
