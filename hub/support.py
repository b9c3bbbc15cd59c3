"""Support bundles at the hub: accept an upload, list an install's bundles, hand one back.

I/O through the store (`hub.support_store`). Who may upload:
- the enrolled agent itself, without a token: the archive must be signed by the install's key
  (the current one, or the previous one during a rotation's grace), and the install's latest
  report must share the `support` category — the customer's consent, checked first;
- an admin reader with a bearer token, by hand (the customer sent the file): the signature
  must still be by that install's key, so nothing edited after it left the cluster is stored.
Archives are verified in bounded memory (`MAX_EXPANDED`) before anything is written.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from hub import access, checks, fleet, support_store
from hub.errors import Rejection
from hub.service import Hub, Reply, json_reply
from hub.sqlstore import SqlStore
from hub.store import AgentRecord
from hub.support_store import SupportBundleRecord
from wire import supportbundle
from wire.errors import SupportBundleError
from wire.protocol import public_key_from_b64

MAX_BYTES = 32 * 1024 * 1024
"""The largest archive the hub accepts (compressed)."""
MAX_EXPANDED = 128 * 1024 * 1024
"""The most an archive may expand to while it is verified."""
CATEGORY = "support"


def sql_store(hub: Hub) -> SqlStore:
    """The SQL store; 501 when this hub's store cannot keep support bundles."""
    if not isinstance(hub.store, SqlStore):
        raise Rejection(501, "not_supported", "this hub's store does not keep support bundles")
    return hub.store


def shared(hub: Hub, agent_id: str) -> list[str]:
    """The categories the install's latest report says it shares (empty before any report)."""
    latest = next(iter(hub.store.reports(agent_id, 1, None)), None)
    consent = fleet.payload_doc(latest).get("consent")
    names = consent.get("shared") if isinstance(consent, dict) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def receive(hub: Hub, agent_id: str, body: bytes, token: str | None) -> Reply:
    """`POST /v1/agents/{id}/support-bundles`: 201 stored, 200 already stored, else refused."""
    try:
        return store_upload(hub, agent_id, body, token)
    except Rejection as exc:
        return json_reply(exc.status, exc.to_dict())


def store_upload(hub: Hub, agent_id: str, body: bytes, token: str | None) -> Reply:
    """Verify and store an uploaded support bundle."""
    now, store = hub.clock(), sql_store(hub)
    agent = hub.known_agent(agent_id)
    if token:
        source = "reader:" + access.authorize(store, token, "admin").name
    else:
        source = "agent"
        if CATEGORY not in shared(hub, agent_id):
            raise Rejection(403, "consent_withheld", "this install does not share `support`: "
                            "its latest report withholds it (chart value hub.share)")  # fmt: skip
    verified = verified_for(agent, body, now, by_hand=bool(token))
    record = SupportBundleRecord(
        agent_id, hashlib.sha256(body).hexdigest(), len(body), len(verified.members),
        verified.redactions, verified.created, now, source,
    )  # fmt: skip
    fresh = support_store.add(store, record, body)
    hub.counts[("support_bundle", "stored" if fresh else "duplicate")] += 1
    return json_reply(201 if fresh else 200, record.to_dict())


def verified_for(agent: AgentRecord, body: bytes, now: datetime,
                 by_hand: bool) -> supportbundle.Verified:  # fmt: skip
    """The archive checked against the install's key(s); 422 naming what failed."""
    keys = list(checks.agent_keys(agent, now).values())
    if by_hand and agent.previous_key:
        # A file carried by hand may predate a rotation: the install's previous key still counts.
        keys.append(public_key_from_b64(agent.previous_key, "stored key"))
    if not body:
        raise Rejection(400, "empty", "send the support bundle (.tar.gz) as the request body")
    try:
        verified = supportbundle.verify(body, keys, MAX_EXPANDED)
    except SupportBundleError as exc:
        raise Rejection(422, "support_bundle_invalid", str(exc)) from exc
    if verified.agent_id != agent.agent_id:
        named = verified.agent_id[:40]
        message = f"the bundle names agent '{named}', not this install"
        raise Rejection(422, "support_bundle_invalid", message)
    return verified


def listing(hub: Hub, agent_id: str) -> Reply:
    """`GET /v1/agents/{id}/support-bundles` (viewer): newest first, without the archives."""
    hub.known_agent(agent_id)
    rows = support_store.listed(sql_store(hub), agent_id)
    return json_reply(200, {"agent_id": agent_id, "support_bundles": [r.to_dict() for r in rows]})


def download(hub: Hub, agent_id: str, sha256: str) -> Reply:
    """`GET /v1/agents/{id}/support-bundles/{sha256}` (admin): the archive as received."""
    data = support_store.archive(sql_store(hub), agent_id, sha256)
    if data is None:
        raise Rejection(404, "not_found", "no such support bundle for this install")
    name = f"support-{agent_id}-{sha256[:12]}.tar.gz"
    return Reply(200, data, "application/gzip",
                 (("content-disposition", f'attachment; filename="{name}"'),))  # fmt: skip
