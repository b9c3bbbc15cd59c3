"""Who may read the hub: access tokens with a role, and the check every read or admin call makes.

I/O through the `HubStore` only. A token is shown once when created; the store keeps its sha256.
Agents never use these: they authenticate every report by its signature (`hub.checks`).

    viewer   reads the API (`/v1/agents…`) and the fleet pages
    admin    also issues enrollment tokens and revokes access tokens over the API
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from hub.errors import HubError, Rejection
from hub.store import AccessRecord, HubStore

ROLES = ("viewer", "admin")
PREFIX = "oat_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# The cookie the login form sets; it carries the access token itself (HttpOnly, SameSite=Strict).
SESSION_COOKIE = "outpost_session"


def sha256_of(token: str) -> str:
    """The sha256 of a token, as stored (the token itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(store: HubStore, name: str, role: str, now: datetime) -> str:
    """A new access token for `name`; printed once by the caller, only its hash is stored."""
    if not NAME.match(name):
        raise HubError(f"access token name '{name}' must be 1-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    if not store.add_access_token(AccessRecord(name, sha256_of(token), role, now)):
        raise HubError(f"an access token named '{name}' exists already (names are never reused)")
    return token


def revoke(store: HubStore, name: str, now: datetime) -> None:
    """Revoke at once: the next request with that token (or its session) gets 401."""
    if not store.revoke_access_token(name, now):
        raise HubError(f"no live access token is named '{name}'")


def authorize(store: HubStore, token: str | None, role: str) -> AccessRecord:
    """The caller's access record, or 401 (none, unknown, revoked) / 403 (viewer, admin needed)."""
    if not token:
        raise Rejection(401, "unauthenticated", "send 'Authorization: Bearer <access token>'")
    record = store.access_token(sha256_of(token))
    if record is None or record.revoked_at is not None:
        raise Rejection(401, "unauthenticated", "the access token is unknown or revoked")
    if role == "admin" and record.role != "admin":
        raise Rejection(403, "forbidden", f"'{record.name}' is a viewer; this needs an admin")
    return record
