"""SupportBundleRequest: the customer asks, the agent produces a support bundle in the cluster.

I/O: lists requests in the agent's namespace, reads the cluster (`collect`), writes one Secret
per request and patches the request's status; uploads to the hub only when the customer's
consent (`hub.share`) includes `support` and the request allows it. The hub never creates a
request: only someone with `create` on SupportBundleRequest in the agent namespace can.
A request is served once per generation; the archive is kept in the Secret
`outpost-support-<name>-<sha256 prefix>` (owned by the request, so deleting the request deletes
it), up to `MAX_KEPT` bytes, and fetched with `outpost support-bundle fetch NAME`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.core.conditions import Condition, Status
from agent.errors import AgentError, KubeError
from agent.kube.client import Kube, KubeObject
from agent.support import archive
from agent.support.collect import Scope, add_report, collect
from agent.sync.client import HubClient
from agent.sync.cluster import KubeStores
from agent.sync.config import SyncConfig
from agent.sync.errors import SyncError
from bundle.errors import BundleError
from bundle.timestamps import parse_duration
from facts import rfc3339
from facts.api import API_VERSION, FIELD_MANAGER
from wire.protocol import agent_id_for

log = logging.getLogger(__name__)
KIND = "SupportBundleRequest"
ARCHIVE_KEY = "support-bundle.tar.gz"
MAX_KEPT = 700 * 1024
"""The largest archive kept in a Secret (base64 must stay under the API server's 1 MiB)."""
POLL_SECONDS = 10.0
RETRIED = ("NoInstallKey", "CollectFailed")
"""Ready reasons that are tried again at the next poll; every other outcome is final."""


def secret_name(request: str, sha256: str) -> str:
    """One Secret per archive: `create` only (no update right), and a retry never collides."""
    return f"outpost-support-{request}-{sha256[:12]}"


def pending(obj: Mapping[str, Any]) -> bool:
    """True until a final Ready condition was written for the request's current generation."""
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    for raw in (obj.get("status") or {}).get("conditions") or ():
        if raw.get("type") == "Ready" and int(raw.get("observedGeneration") or 0) == generation:
            return raw.get("reason") in RETRIED
    return True


Verdict = tuple[Status, str, str]
"""A condition's status, reason and message."""


def condition(type_: str, verdict: Verdict, generation: int, now: datetime) -> dict[str, Any]:
    """A condition of the request's status."""
    return Condition(type_, *verdict, generation, now).to_dict()


@dataclass(frozen=True)
class Produced:
    """One archive, signed, with what its status reports."""

    data: bytes
    agent_id: str
    members: int
    redactions: int

    @property
    def sha256(self) -> str:
        """The archive's sha256."""
        return hashlib.sha256(self.data).hexdigest()


async def produce(kube: Kube, namespace: str, spec: Mapping[str, Any],
                  now: datetime) -> Produced | None:  # fmt: skip
    """Collect, redact and sign; None when the install has no key yet (the agent makes it)."""
    key = await KubeStores(kube, namespace).load_key()
    if key is None:
        return None
    since = parse_duration(str(spec.get("since") or "24h"))
    scope = Scope(namespace, tuple(spec.get("namespaces") or ()), since)
    collected = await collect(kube, scope, now)
    add_report(collected)
    agent_id = agent_id_for(key.public_key())
    data = archive.pack(collected.members, key, agent_id, now)
    return Produced(data, agent_id, len(collected.members), len(collected.redactor.findings))


async def keep(kube: Kube, namespace: str, request: KubeObject, produced: Produced) -> bool:
    """Write the archive into the request's Secret; False when it is too large to keep."""
    if len(produced.data) > MAX_KEPT:
        return False
    meta = request["metadata"]
    owner = {"apiVersion": API_VERSION, "kind": KIND, "name": meta["name"], "uid": meta["uid"]}
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": secret_name(meta["name"], produced.sha256), "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER},
                     "ownerReferences": [owner]},
        "data": {ARCHIVE_KEY: base64.b64encode(produced.data).decode()},
    }  # fmt: skip
    await kube.create(secret)
    return True


async def upload(config: SyncConfig | None, spec: Mapping[str, Any],
                 produced: Produced) -> Verdict:  # fmt: skip
    """Send the archive to the hub when allowed: (status, reason, message) of `Uploaded`."""
    if spec.get("upload") is False:
        return "False", "NotRequested", "spec.upload is false"
    if config is None:
        return "False", "HubOff", "no hub is configured, or the agent is offline (hub.offline)"
    if "support" not in config.share:
        return "False", "ConsentWithheld", "`support` is not in hub.share: nothing was sent"
    client = HubClient(config)
    try:
        answer = await client.post(f"/v1/agents/{produced.agent_id}/support-bundles", produced.data)
    except SyncError as exc:
        return "False", "HubUnavailable", str(exc)[:300]
    finally:
        await client.aclose()
    if answer.status in (200, 201):
        return "True", "Uploaded", f"the hub stored it (HTTP {answer.status})"
    return (
        "False",
        "HubRefused",
        f"HTTP {answer.status}: {answer.body[:300].decode(errors='replace')}",
    )


async def fulfil(kube: Kube, namespace: str, request: KubeObject, config: SyncConfig | None,
                 now: datetime) -> None:  # fmt: skip
    """Serve one request and record the outcome in its status."""
    spec, generation = request.get("spec") or {}, int(request["metadata"].get("generation") or 0)
    try:
        produced = await produce(kube, namespace, spec, now)
    except (AgentError, BundleError, ValueError) as exc:
        failed = condition("Ready", ("False", "CollectFailed", str(exc)[:300]), generation, now)
        await kube.patch_status(request, {"conditions": [failed]})
        return
    if produced is None:
        message = "the install key does not exist yet; the agent creates it when sync starts"
        waiting = condition("Ready", ("False", "NoInstallKey", message), generation, now)
        await kube.patch_status(request, {"conditions": [waiting]})
        return
    kept = await keep(kube, namespace, request, produced)
    sent = await upload(config, spec, produced)
    name = secret_name(request["metadata"]["name"], produced.sha256)
    ready: Verdict = ("True", "Produced", f"kept in Secret '{name}'")
    if not kept:
        too_big = f"{len(produced.data)} bytes, over {MAX_KEPT}: use `outpost support-bundle`"
        ready = ("False", "TooLarge", too_big)
    status = {
        "agentId": produced.agent_id, "sha256": produced.sha256, "size": len(produced.data),
        "members": produced.members, "redactions": produced.redactions,
        "completedAt": rfc3339.format_time(now), "observedGeneration": generation,
        "archive": {"secretName": name, "key": ARCHIVE_KEY} if kept else None,
        "conditions": [condition("Ready", ready, generation, now),
                       condition("Uploaded", sent, generation, now)],
    }  # fmt: skip
    await kube.patch_status(request, status)


async def serve(kube: Kube, namespace: str, config: SyncConfig | None,
                clock: Callable[[], datetime]) -> None:  # fmt: skip
    """Forever: serve every pending request in the agent namespace (requests are rare, so a
    poll every `POLL_SECONDS` costs less than a watch and its cache)."""
    while True:
        try:
            for request in await kube.list_objects(API_VERSION, KIND, namespace):
                if pending(request):
                    log.info("producing support bundle for %s", request["metadata"]["name"])
                    await fulfil(kube, namespace, request, config, clock())
        except KubeError as exc:
            log.warning("support bundle requests: %s", exc)
        await asyncio.sleep(POLL_SECONDS)
