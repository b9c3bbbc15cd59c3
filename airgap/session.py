"""The HTTP session to one registry: TLS, timeouts, auth, bounded retries, error translation.

All network I/O of `airgap` goes through `RegistrySession`. Every httpx exception and every
unexpected status becomes a `RegistryError` saying what was attempted, on which registry
(`host[:port]`, never credentials) and what to do. Requests with a bytes body are retried on
502/503/504 and connection errors with exponential backoff; streamed bodies are not (a spent
stream cannot be replayed) — their callers resume or restart the upload instead.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from airgap.auth import Credentials, RegistryAuth
from airgap.errors import RegistryAuthError, RegistryError, RegistryUnreachableError
from refs.address import RegistryAddress
from refs.errors import AddressError

TRANSIENT_STATUS = frozenset({502, 503, 504})
STORAGE_ADVICE = (
    "its storage may be full or read-only — check the registry's logs and storage, then rerun"
)
# Reads wait for the registry to hash and move whole blobs after the last byte: be generous.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=120.0, pool=120.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: `attempts` tries, waits base·2ⁿ capped at `cap` seconds."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (exponential, capped)."""
        return float(min(self.cap, self.base * 2**attempt))


def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Default verification, plus the private CA in `ca_file` when given."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise AddressError(
                f"--ca-file {ca_file}: cannot load a PEM CA certificate ({exc})"
            ) from exc
    return context


class RegistrySession:
    """One httpx.Client per registry; `request` for small bodies, `stream` for blob bytes."""

    def __init__(
        self,
        address: RegistryAddress,
        credentials: Credentials | None = None,
        ca_file: Path | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.address = address
        self.retry = retry
        self.sleep = sleep
        self._user = credentials.username if credentials else None
        self._client = httpx.Client(
            base_url=address.base_url,
            auth=RegistryAuth(credentials, address.netloc),
            verify=ssl_context(ca_file),
            timeout=timeout,
            transport=transport,
            trust_env=False,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def __repr__(self) -> str:
        return f"RegistrySession({self.address.netloc!r}, username={self._user!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        expect: Iterable[int],
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send with retries; return the response if its status is in `expect`."""
        expected = frozenset(expect)
        for attempt in range(self.retry.attempts):
            try:
                response = self._send(method, url, what, headers, content)
                return self._check(response, expected, what)
            except RegistryError as exc:
                if not exc.transient or attempt + 1 == self.retry.attempts:
                    raise
                self.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def stream(
        self,
        method: str,
        url: str,
        *,
        what: str,
        expect: Iterable[int],
        headers: dict[str, str],
        body: Iterable[bytes],
        length: int,
    ) -> httpx.Response:
        """Send a streamed body once with an explicit Content-Length (never chunked encoding)."""
        headers = {**headers, "Content-Length": str(length)}
        response = self._send(method, url, what, headers, body)
        if response.status_code == 401 and _bearer(response):
            # The token ran out or was revoked mid-upload; the auth forgot it: retry the blob.
            raise _transient(
                RegistryAuthError(
                    f"registry {self.address.netloc} refused the token while {what} (HTTP 401);"
                    " fetching a new one",
                    401,
                )
            )
        return self._check(response, frozenset(expect), what)

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        headers: dict[str, str] | None,
        content: bytes | Iterable[bytes] | None,
    ) -> httpx.Response:
        try:
            return self._client.request(method, url, headers=headers, content=content)
        except httpx.TimeoutException as exc:
            raise _transient(
                RegistryUnreachableError(
                    f"registry {self.address.netloc} timed out while {what} "
                    f"({type(exc).__name__}): "
                    "check that it is up and not overloaded, then rerun (uploads resume)"
                )
            ) from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(exc, what) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _transient(
                RegistryUnreachableError(
                    f"connection to registry {self.address.netloc} broke while {what} ({exc}): "
                    "rerun to resume"
                )
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise RegistryError(
                f"HTTP error talking to registry {self.address.netloc} while {what}: {exc}"
            ) from exc

    def _connect_error(self, exc: httpx.ConnectError, what: str) -> RegistryError:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            return RegistryUnreachableError(
                f"TLS handshake with registry {self.address.netloc} failed while {what} "
                f"({text}): pass the registry's CA certificate with --ca-file"
            )
        return _transient(
            RegistryUnreachableError(
                f"cannot connect to registry {self.address.netloc} while {what} "
                f"({text or 'refused'}): "
                "check the address and that the registry is running and reachable from here"
            )
        )

    def _check(
        self, response: httpx.Response, expected: frozenset[int], what: str
    ) -> httpx.Response:
        if response.status_code in expected:
            return response
        raise self._status_error(response, what)

    def _status_error(self, response: httpx.Response, what: str) -> RegistryError:
        code, where = response.status_code, self.address.netloc
        detail = describe_errors(response)
        scoped = 'error="insufficient_scope"' in response.headers.get("WWW-Authenticate", "")
        if code in (401, 403):
            # 401 insufficient_scope: the token service knew the user, did not grant this repo.
            denied = code == 403 or scoped
            return RegistryAuthError(self._auth_message(code, what, detail, denied), code)
        if code >= 500:
            transient = code in TRANSIENT_STATUS
            advice = "retry later" if transient else STORAGE_ADVICE
            message = f"registry {where} failed while {what} (HTTP {code}{detail}): {advice}"
            return RegistryError(message, code, transient=transient)
        return RegistryError(f"registry {where} refused {what} (HTTP {code}{detail})", code)

    def _auth_message(self, code: int, what: str, detail: str, denied: bool) -> str:
        where = self.address.netloc
        if denied:
            return (
                f"registry {where} denied {what} (HTTP {code}{detail}): the user needs push "
                "permission on this repository"
            )
        who = f"the credentials of user '{self._user}'" if self._user else "anonymous access"
        return (
            f"registry {where} rejected {who} (HTTP 401) while {what}: "
            "check --username and the password given on stdin"
        )


def describe_errors(response: httpx.Response) -> str:
    """`: CODE message; …` from a distribution-spec error body, capped; '' if none."""
    try:
        errors = response.json().get("errors") or []
        parts = [f"{e.get('code', '?')} {e.get('message', '')}".strip() for e in errors[:3]]
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return ""
    text = "; ".join(parts)
    return f": {text[:300]}" if text else ""


def _bearer(response: httpx.Response) -> bool:
    return bool(response.request.headers.get("Authorization", "").startswith("Bearer "))


def _transient(error: RegistryError) -> RegistryError:
    error.transient = True
    return error
