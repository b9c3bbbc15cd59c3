"""Which request goes where, and who may make it.

I/O: reads request bodies through the app; everything else is delegated. Agents authenticate
by signature (enroll, reports, keys, uploads); readers by an access token sent as
`Authorization: Bearer`, or by the session cookie the login form sets (reads only: the API's
admin calls take the bearer header alone, so a cookie can never be used across sites to act).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs

from hub import access, fleet, install_page, page, support, usage_views
from hub.asgi import App, Receive, Scope
from hub.errors import Rejection
from hub.fleetview import FleetQuery
from hub.install_view import install_view
from hub.service import Reply, json_reply
from wire.protocol import MAX_BODY_BYTES, MAX_INT

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
MAX_FORM_BYTES = 4096
INSTALL_PATH = re.compile(r"^/installs/(?P<agent>agt_[0-9a-f]{32})$")
AGENT_PATH = re.compile(r"^/v1/agents/(?P<agent>agt_[0-9a-f]{32})/(?P<what>reports|keys)$")
SUPPORT_PATH = re.compile(
    r"^/v1/agents/(?P<agent>agt_[0-9a-f]{32})/support-bundles(?:/(?P<sha>[0-9a-f]{64}))?$"
)
REVOKE_PATH = re.compile(r"^/v1/access-tokens/(?P<name>[^/]{1,64})/revoke$")
SESSION_AGE = 12 * 3600
# Reads for a viewer (besides an agent's reports): the page, the API, usage and metrics.
READ_PATHS = ("/", "/v1/agents", "/v1/usage", "/metrics")


def header(scope: Scope, wanted: bytes) -> str | None:
    """A request header, decoded."""
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def bearer(scope: Scope) -> str | None:
    """The bearer token of the request, if any."""
    value = header(scope, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def session(scope: Scope) -> str | None:
    """The session cookie's token, if any."""
    for part in (header(scope, b"cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == access.SESSION_COOKIE and value:
            return value
    return None


def rejected(exc: Rejection) -> Reply:
    """The reply for a rejection."""
    return json_reply(exc.status, exc.to_dict())


async def route(app: App, scope: Scope, receive: Receive) -> Reply:
    """Route one request by method and path."""
    method, path = scope["method"], scope["path"]
    if method == "GET":
        return await get(app, scope, path)
    if method != "POST":
        return json_reply(405, Rejection(405, "method_not_allowed", f"{method} not here").to_dict())
    if path == "/login":
        return await login(app, await app.body(scope, receive, MAX_FORM_BYTES))
    if path == "/logout":
        return Reply(303, b"", "text/plain", logout_headers())
    if path in ("/v1/enrollment-tokens",) or REVOKE_PATH.match(path):
        return await admin(app, scope, receive, path)
    return await agent_post(app, scope, receive, path)


async def agent_post(app: App, scope: Scope, receive: Receive, path: str) -> Reply:
    """The agents' side: authenticated by the signature on what they send."""
    hub, token = app.hub, bearer(scope)
    if path == "/v1/uploads":
        return await app.call(hub.upload, await app.body(scope, receive, MAX_UPLOAD_BYTES), token)
    bundle = SUPPORT_PATH.match(path)
    if bundle is not None and bundle["sha"] is None:
        body = await app.body(scope, receive, support.MAX_BYTES)
        return await app.call(support.receive, hub, bundle["agent"], body, token)
    match = AGENT_PATH.match(path)
    if path != "/v1/enroll" and match is None:
        return json_reply(
            404, Rejection(404, "not_found", f"no such endpoint: POST {path}").to_dict()
        )
    body = await app.body(scope, receive, MAX_BODY_BYTES)
    if match is None:
        return await app.call(hub.enroll, token, body)
    if match["what"] == "keys":
        return await app.call(hub.rotate, match["agent"], body)
    return await app.call(hub.ingest, match["agent"], body)


async def admin(app: App, scope: Scope, receive: Receive, path: str) -> Reply:
    """An admin call (bearer only, never the cookie)."""
    body = await app.body(scope, receive, MAX_FORM_BYTES)
    try:
        await app.call(access.authorize, app.hub.store, bearer(scope), "admin")
    except Rejection as exc:
        return rejected(exc)
    match = REVOKE_PATH.match(path)
    if match is not None:
        return await app.call(app.hub.revoke_access, match["name"])
    return await app.call(app.hub.issue_enrollment, body)


async def get(app: App, scope: Scope, path: str) -> Reply:
    """Route a GET: health, readiness, the page and the read API."""
    if path == "/healthz":
        return json_reply(200, {"status": "ok"})
    if path == "/readyz":
        return await ready(app)
    if path == "/openapi.json":
        return Reply(200, app.spec)
    if path == "/login":
        return Reply(200, page.login().encode(), page.HTML)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        return await app.call(read, app, bearer(scope) or session(scope), path, query)
    except Rejection as exc:
        if exc.status == 401 and not path.startswith("/v1/"):
            return Reply(401, page.login(str(exc)).encode(), page.HTML)
        return rejected(exc)


async def ready(app: App) -> Reply:
    """Ready when the database answers within 5 s on the store thread."""
    try:
        version = await asyncio.wait_for(app.call(app.hub.store.schema_version), 5)
    except Exception:  # any failure of the database means not ready
        return json_reply(
            503, Rejection(503, "not_ready", "the database does not answer").to_dict()
        )
    return json_reply(200, {"status": "ready", "schema_version": version})


def read(app: App, token: str | None, path: str, query: dict[str, list[str]]) -> Reply:
    """A read for a viewer (on the store thread): the fleet page or the read API."""
    store = app.hub.store
    install, bundle = INSTALL_PATH.match(path), SUPPORT_PATH.match(path)
    if path not in READ_PATHS and not AGENT_PATH.match(path) and not install and not bundle:
        raise Rejection(404, "not_found", f"no such endpoint: GET {path}")
    access.authorize(store, token, "viewer")
    if bundle is not None:
        return support_read(app, token, bundle["agent"], bundle["sha"])
    if path == "/":
        shown = FleetQuery.parse(query)
        html = page.render(fleet.fleet(store), app.hub.clock(), query=shown)
        return Reply(200, html.encode(), page.HTML)
    if install is not None:
        view = install_view(store, app.hub.usage, install["agent"], app.hub.clock())
        return Reply(200, install_page.render(view, app.hub.clock()).encode(), page.HTML)
    if path == "/v1/agents":
        return json_reply(200, fleet.agents_doc(store))
    if path == "/v1/usage":
        return usage_views.usage_reply(app.hub, query)
    if path == "/metrics":
        text = usage_views.metrics_text(app.hub, app.hub.clock())
        return Reply(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
    match = AGENT_PATH.match(path)
    if match is None or match["what"] != "reports":
        raise Rejection(404, "not_found", f"no such endpoint: GET {path}")
    limit = bounded(query, "limit", 50)
    before = bounded(query, "before_seq", None)
    return json_reply(200, fleet.reports_doc(store, match["agent"], limit or 50, before))


def support_read(app: App, token: str | None, agent_id: str, sha: str | None) -> Reply:
    """The list for a viewer; an archive itself only for an admin (it is the customer's data)."""
    if sha is None:
        return support.listing(app.hub, agent_id)
    access.authorize(app.hub.store, token, "admin")
    return support.download(app.hub, agent_id, sha)


def bounded(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    """An integer query parameter in 0..2⁶³-1, else 400 (never passed on to the database)."""
    if name not in query:
        return default
    text = query[name][0].strip()
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_INT:
        raise Rejection(400, "malformed", f"`{name}` must be an integer in 0..2^63-1")
    return int(text)


async def login(app: App, body: bytes) -> Reply:
    """The login form posts an access token; a valid one opens a session cookie."""
    form = parse_qs(body.decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        await app.call(access.authorize, app.hub.store, token, "viewer")
    except Rejection as exc:
        return Reply(401, page.login(str(exc)).encode(), page.HTML)
    cookie = (
        f"{access.SESSION_COOKIE}={token}; Path=/; Max-Age={SESSION_AGE}; HttpOnly; SameSite=Strict"
    )
    return Reply(303, b"", "text/plain", (("location", "/"), ("set-cookie", cookie)))


def logout_headers() -> tuple[tuple[str, str], ...]:
    """Headers that end the page session."""
    cookie = f"{access.SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    return (("location", "/login"), ("set-cookie", cookie))
