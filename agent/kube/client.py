"""The agent's Kubernetes client: a small async interface over the REST API (I/O lives here).

Login comes from agent.kube.kubeconfig (kubeconfig or in-cluster service account); requests go
through one aiohttp session as plain JSON, so no generated models are built per response
(lighter on memory at thousands of objects). Every write passes a token bucket; every request
is counted by verb and resource for /metrics and the benchmark. Client exceptions become
`agent.errors` types. Objects are plain dicts (`KubeObject`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from agent.errors import ConflictError, GoneError, KubeError, NotFoundError
from agent.kube.kubeconfig import Credentials
from agent.kube.resources import Resource, ResourceMap

KubeObject = dict[str, Any]
FIELD_MANAGER = "outpost-agent"
LIST_CHUNK = 500
THROTTLE_RETRIES = 5
MAX_RETRY_AFTER = 10.0
WATCH_SECONDS = 290
"""How long the API server keeps one watch stream open before we reconnect from its last version."""
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TokenBucket:
    """Write rate limit: `rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._tokens, self._stamp = float(burst), time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a write token."""
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._stamp = time.monotonic()
                self._tokens = 1.0
            self._tokens -= 1


class Kube:
    """Async Kubernetes API: get, list, apply (SSA), status, delete, finalizers, events, version."""

    def __init__(self, creds: Credentials, *, qps: float, burst: int, timeout: float) -> None:
        self.creds = creds
        self.requests: Counter[tuple[str, str]] = Counter()
        self.throttled = 0
        self.resources = ResourceMap(self.get_path)
        self._bucket = TokenBucket(qps, burst)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.creds.ssl_ca_cert)
        if self.creds.cert_file:
            ctx.load_cert_chain(self.creds.cert_file, self.creds.key_file)
        if not self.creds.verify_ssl:
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        return ctx

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=64)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def _headers(self, content_type: str = "application/json") -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        token = await self.creds.get_api_key_with_prefix("BearerToken")
        if token:
            headers["Authorization"] = token
        return headers

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One REST call; returns the decoded JSON body.

        Raises:
            NotFoundError, ConflictError, GoneError, KubeError: by HTTP status.
        """
        for attempt in range(THROTTLE_RETRIES + 1):
            status, text, retry_after = await self._send(method, path, body, params, content_type)
            if status != 429 or attempt == THROTTLE_RETRIES:
                break
            # API Priority and Fairness queued us out: wait as told, then try again.
            self.throttled += 1
            await asyncio.sleep(min(retry_after, MAX_RETRY_AFTER))
        if status >= 400:
            raise _error(method, path, status, text)
        return json.loads(text) if text else {}

    async def _send(
        self, method: str, path: str, body: Any, params: dict[str, str] | None, content_type: str
    ) -> tuple[int, str, float]:
        """One HTTP exchange: (status, body text, Retry-After seconds)."""
        if method in WRITE_VERBS:
            await self._bucket.take()
        self.requests[(method, resource_of(path))] += 1
        headers = await self._headers(content_type)
        data = None if body is None else json.dumps(body)
        try:
            async with self._open().request(
                method,
                self.creds.host + path,
                data=data,
                params=params,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                retry = resp.headers.get("Retry-After", "1")
                return resp.status, await resp.text(), float(retry) if retry.isdigit() else 1.0
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(
                f"{method} {path} failed: {exc!r}; is the API server reachable?"
            ) from exc

    async def get_text(
        self, path: str, params: dict[str, str] | None = None, accept: str = "text/plain"
    ) -> str:
        """A read whose answer is not a JSON object: pod logs, metrics, metadata-only lists."""
        self.requests[("GET", resource_of(path))] += 1
        headers = {**await self._headers(), "Accept": accept}
        try:
            async with self._open().get(
                self.creds.host + path, params=params, headers=headers, timeout=self._timeout
            ) as resp:
                text, status = await resp.text(errors="replace"), resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(f"GET {path} failed: {exc!r}; is the API server reachable?") from exc
        if status >= 400:
            raise _error("GET", path, status, text)
        return text

    async def get_path(self, path: str) -> dict[str, Any]:
        """GET a path and return its JSON object."""
        return dict(await self.request("GET", path))

    async def resolve(self, obj_or_api_version: KubeObject | str, kind: str = "") -> Resource:
        """The resource (path, scope) of an object or of an apiVersion and kind."""
        if isinstance(obj_or_api_version, dict):
            return await self.resources.resolve(
                obj_or_api_version["apiVersion"], obj_or_api_version["kind"]
            )
        return await self.resources.resolve(obj_or_api_version, kind)

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None:
        """The live object, or None when it does not exist."""
        res = await self.resolve(api_version, kind)
        try:
            return dict(await self.request("GET", res.path(name, namespace)))
        except NotFoundError:
            return None

    async def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: str = "",
        fields: str = "",
    ) -> list[KubeObject]:
        """All objects of a kind (paginated), optionally filtered by label and field selectors."""
        items, _ = await self.list_versioned(api_version, kind, namespace, labels, fields)
        return items

    async def list_versioned(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: str = "",
        fields: str = "",
    ) -> tuple[list[KubeObject], str]:
        """`list_objects` plus the list's resourceVersion (where a watch starts from)."""
        res = await self.resolve(api_version, kind)
        items: list[KubeObject] = []
        params = {"limit": str(LIST_CHUNK), **({"labelSelector": labels} if labels else {})}
        if fields:
            params["fieldSelector"] = fields
        while True:
            page = await self.request("GET", res.path(namespace=namespace), params=params)
            for item in page.get("items", []):
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = page.get("metadata", {})
            if not meta.get("continue"):
                return items, str(meta.get("resourceVersion", ""))
            params["continue"] = meta["continue"]

    async def watch(
        self, api_version: str, kind: str, resource_version: str, labels: str = ""
    ) -> AsyncIterator[KubeObject]:
        """The watch events after `resource_version` (with bookmarks) until the server ends the
        stream (after about WATCH_SECONDS).

        Raises:
            GoneError: the version is too old (relist); KubeError: any other failure.
        """
        res = await self.resolve(api_version, kind)
        params = {"watch": "true", "resourceVersion": resource_version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": str(WATCH_SECONDS)}  # fmt: skip
        if labels:
            params["labelSelector"] = labels
        path = res.path()
        self.requests[("WATCH", res.plural)] += 1
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=WATCH_SECONDS + 30)
        try:
            async with self._open().get(
                self.creds.host + path,
                params=params,
                headers=await self._headers(),
                timeout=timeout,
            ) as resp:
                if resp.status >= 400:
                    raise _error("WATCH", path, resp.status, await resp.text())
                async for event in _lines(resp.content):
                    yield _checked(event, path)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(f"watch {path} failed: {exc!r}") from exc

    async def apply(
        self, obj: KubeObject, *, subresource: str = "", manager: str = FIELD_MANAGER
    ) -> KubeObject:
        """Server-side apply as `manager` (`outpost-agent`, or `helm` when putting back a Helm
        release's objects), taking over conflicting fields (they are ours)."""
        res = await self.resolve(obj)
        meta = obj["metadata"]
        path = res.path(meta["name"], meta.get("namespace"), subresource)
        params = {"fieldManager": manager, "force": "true"}
        return dict(
            await self.request(
                "PATCH", path, body=obj, params=params, content_type="application/apply-patch+yaml"
            )
        )

    async def apply_status(self, obj: KubeObject) -> KubeObject:
        """Server-side apply of `status` (obj: apiVersion, kind, metadata.name, status)."""
        return await self.apply(obj, subresource="status")

    async def patch(
        self, obj: KubeObject, patch: KubeObject, *, subresource: str = ""
    ) -> KubeObject:
        """JSON merge patch; include metadata.resourceVersion in `patch` for optimistic locking."""
        res = await self.resolve(obj)
        meta = obj["metadata"]
        path = res.path(meta["name"], meta.get("namespace"), subresource)
        return dict(
            await self.request(
                "PATCH", path, body=patch, content_type="application/merge-patch+json"
            )
        )

    async def patch_status(self, obj: KubeObject, status: KubeObject) -> KubeObject:
        """Merge-patch the status subresource."""
        return await self.patch(obj, {"status": status}, subresource="status")

    async def create(self, obj: KubeObject) -> KubeObject:
        """Create the object (409 when it exists)."""
        res = await self.resolve(obj)
        return dict(
            await self.request(
                "POST", res.path(namespace=obj["metadata"].get("namespace")), body=obj
            )
        )

    async def replace(self, obj: KubeObject) -> KubeObject:
        """Replace the object at its resourceVersion (409 when it changed)."""
        res = await self.resolve(obj)
        meta = obj["metadata"]
        return dict(
            await self.request("PUT", res.path(meta["name"], meta.get("namespace")), body=obj)
        )

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        """Delete in the background; False when it was already gone."""
        res = await self.resolve(api_version, kind)
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            await self.request("DELETE", res.path(name, namespace), body=body)
        except NotFoundError:
            return False
        return True

    async def add_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Add a finalizer (no write when present)."""
        return await self._set_finalizers(obj, finalizer, add=True)

    async def remove_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Remove a finalizer (no write when absent)."""
        return await self._set_finalizers(obj, finalizer, add=False)

    async def _set_finalizers(self, obj: KubeObject, finalizer: str, *, add: bool) -> KubeObject:
        meta = obj["metadata"]
        current = list(meta.get("finalizers") or [])
        wanted = [f for f in current if f != finalizer] + ([finalizer] if add else [])
        if wanted == current or (add and finalizer in current):
            return obj
        patch = {"metadata": {"finalizers": wanted, "resourceVersion": meta.get("resourceVersion")}}
        return await self.patch(obj, patch)

    async def create_event(
        self, involved: KubeObject, event_type: str, reason: str, message: str, now: str
    ) -> None:
        """A core/v1 Event; cluster-scoped objects' events go to `default` (where kubectl looks)."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message[:1024],
            "type": event_type,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
        }
        await self.create(event)

    async def version(self) -> dict[str, Any]:
        """The API server's version."""
        return await self.get_path("/version")


def resource_of(path: str) -> str:
    """The resource (and subresource) a REST path addresses, e.g. "tenants/status"."""
    parts = path.strip("/").split("/")
    parts = parts[2:] if parts[0] == "api" else parts[3:]
    if len(parts) >= 3 and parts[0] == "namespaces":
        parts = parts[2:]
    if not parts:
        return "discovery"
    return parts[0] + (f"/{parts[2]}" if len(parts) >= 3 else "")


def writes(requests: Mapping[tuple[str, str], int], exclude: tuple[str, ...] = ("leases",)) -> int:
    """How many writes the counts hold, leaving out `exclude` (the Lease renews forever)."""
    return sum(
        n for (verb, res), n in requests.items() if verb in WRITE_VERBS and res not in exclude
    )


async def _lines(stream: aiohttp.StreamReader) -> AsyncIterator[KubeObject]:
    """Decoded JSON lines of a watch stream (any length: one object can exceed a read chunk)."""
    buffer = b""
    async for chunk in stream.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _checked(event: KubeObject, path: str) -> KubeObject:
    """The event itself, or the error an ERROR event carries (410: the version expired)."""
    if event.get("type") != "ERROR":
        return event
    status = event.get("object") or {}
    code = int(status.get("code") or 0)
    kind = GoneError if code == 410 else KubeError
    raise kind(f"watch {path}: HTTP {code}: {status.get('message', '')}", status=code)


def _error(method: str, path: str, status: int, text: str) -> KubeError:
    try:
        message = json.loads(text).get("message", text)
    except ValueError:
        message = text
    detail = f"{method} {path}: HTTP {status}: {message[:500]}"
    kinds: dict[int, type[KubeError]] = {404: NotFoundError, 409: ConflictError, 410: GoneError}
    return kinds.get(status, KubeError)(detail, status=status)
