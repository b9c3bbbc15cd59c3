"""The cluster side of status sync: stores and snapshot gathering over the Kubernetes API.

I/O shell over the agent's one async client (`agent.kube.client.Kube`), so nothing here blocks
the event loop the controllers share. `KubeStores` keeps the agent key and sync state in the
Secret `outpost-agent-identity` and the bounded spool in the ConfigMap `outpost-agent-spool`, both
in the agent's namespace. `KubeGatherer` lists DataPlane, Tenant, Application, Bundle and License
objects and pod requests per tenant namespace, and hands raw objects to the pure allowlist in
`agent.sync.snapshot`. It reads Secrets only for the agent's own identity.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.objects import parse_quantity
from agent.errors import KubeError, NotFoundError
from agent.kube.client import Kube, KubeObject
from agent.kube.kubeconfig import load_credentials
from agent.settings import service_url
from agent.sync import outbox
from agent.sync.snapshot import ClusterSnapshot, PodRequests, snapshot_from_objects
from agent.sync.state import SyncState, key_from_pem, key_to_pem
from facts.api import GROUP, VERSION

IDENTITY_SECRET = "outpost-agent-identity"
SPOOL_CONFIGMAP = "outpost-agent-spool"
OUTBOX_CONFIGMAP = "outpost-agent-outbox"
TENANT_LABEL = "outpost.dev/tenant"
KINDS = ("DataPlane", "Tenant", "Application", "Bundle", "License")
PART_OF = {"app.kubernetes.io/part-of": "outpost"}
REQUEST_TIMEOUT = 30.0
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


class KubeStores:
    """`KeyStore`, `StateStore` and `SpoolStore` over one Secret and one ConfigMap."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace

    async def _read(self, kind: str, name: str) -> dict[str, str]:
        try:
            found = await self.kube.get("v1", kind, name, self.namespace)
        except KubeError as exc:
            raise KubeError(f"reading {kind} '{self.namespace}/{name}': {exc}", exc.status) from exc
        return dict((found or {}).get("data") or {})

    async def secret_data(self) -> dict[str, str]:
        """The identity Secret's data, decoded."""
        raw = await self._read("Secret", IDENTITY_SECRET)
        return {k: base64.b64decode(v).decode() for k, v in raw.items()}

    async def write(self, kind: str, name: str, data: dict[str, str]) -> None:
        """Merge `data` into the object, creating it on first write."""
        if kind == "Secret":
            data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        meta = {"name": name, "namespace": self.namespace, "labels": PART_OF}
        body: KubeObject = {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": data}
        try:
            try:
                await self.kube.patch(body, {"metadata": {"labels": PART_OF}, "data": data})
            except NotFoundError:
                await self.kube.create(body)
        except KubeError as exc:
            raise KubeError(f"writing {kind} '{self.namespace}/{name}': {exc}", exc.status) from exc

    async def load_key(self) -> Ed25519PrivateKey | None:
        """The install's private key, or None before the first start."""
        pem = (await self.secret_data()).get("key.pem")
        where = f"Secret '{self.namespace}/{IDENTITY_SECRET}' key 'key.pem'"
        return key_from_pem(pem.encode(), where) if pem else None

    async def save_key(self, key: Ed25519PrivateKey) -> None:
        """Store the install's private key in the identity Secret."""
        await self.write("Secret", IDENTITY_SECRET, {"key.pem": key_to_pem(key).decode()})

    async def load_state(self) -> SyncState | None:
        """The sync state (seq, chain, enrollment), or None before the first report."""
        text = (await self.secret_data()).get("state.json")
        return SyncState.from_dict(json.loads(text)) if text else None

    async def save_state(self, state: SyncState) -> None:
        """Store the sync state."""
        await self.write("Secret", IDENTITY_SECRET, {"state.json": json.dumps(state.to_dict())})

    async def load_spool(self) -> tuple[bytes, ...]:
        """The spooled envelopes, oldest first."""
        text = (await self._read("ConfigMap", SPOOL_CONFIGMAP)).get("spool.jsonl", "")
        return tuple(line.encode() for line in text.splitlines() if line.strip())

    async def save_spool(self, envelopes: Sequence[bytes]) -> None:
        """Replace the spool."""
        text = "".join(e.decode() + "\n" for e in envelopes)
        await self.write("ConfigMap", SPOOL_CONFIGMAP, {"spool.jsonl": text})

    async def load_outbox(self) -> tuple[outbox.Entry, ...]:
        """What was sent, rejected or dropped, within the retention window."""
        text = (await self._read("ConfigMap", OUTBOX_CONFIGMAP)).get("outbox.jsonl", "")
        return outbox.from_text(text)

    async def save_outbox(self, entries: Sequence[outbox.Entry]) -> None:
        """Replace the outbox's entries."""
        await self.write("ConfigMap", OUTBOX_CONFIGMAP, {"outbox.jsonl": outbox.to_text(entries)})


class KubeGatherer:
    """Lists what a report may mention; the allowlist itself is in `agent.sync.snapshot`."""

    def __init__(self, kube: Kube, include_owners: bool = False) -> None:
        self.kube = kube
        self.include_owners = include_owners

    async def __call__(self) -> ClusterSnapshot:
        """A snapshot of what reports may mention (the cluster's uid from kube-system)."""
        try:
            system = await self.kube.get("v1", "Namespace", "kube-system")
            objects = {kind: await self.custom_objects(kind) for kind in KINDS}
            pods = await self.pod_requests()
        except KubeError as exc:
            raise KubeError(f"gathering the status snapshot: {exc}", exc.status) from exc
        uid = str(((system or {}).get("metadata") or {}).get("uid", ""))
        return snapshot_from_objects(uid, objects, pods, self.include_owners)

    async def custom_objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of an Outpost kind ([] when the CRD is not installed)."""
        try:
            return await self.kube.list_objects(f"{GROUP}/{VERSION}", kind)
        except KubeError as exc:
            if exc.status == 404 or "not served" in str(exc):  # CRD not installed yet
                return []
            raise

    async def tenant_namespaces(self) -> dict[str, str]:
        """Tenant namespaces and the tenant each belongs to."""
        found = await self.kube.list_objects("v1", "Namespace", labels=TENANT_LABEL)
        return {ns["metadata"]["name"]: ns["metadata"]["labels"][TENANT_LABEL] for ns in found}

    async def pod_requests(self) -> list[PodRequests]:
        """Requests of the live pods in tenant namespaces."""
        # Per tenant namespace: the agent may read pods only where it manages a tenant.
        out: list[PodRequests] = []
        for namespace, tenant in sorted((await self.tenant_namespaces()).items()):
            pods = await self.kube.list_objects("v1", "Pod", namespace=namespace, fields=LIVE_PODS)
            out.extend(requests_of(tenant, pod) for pod in pods)
        return out


def requests_of(tenant: str, pod: KubeObject) -> PodRequests:
    """The pod's summed container requests: CPU in millicores, memory in bytes."""
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += int((parse_quantity(requests.get("cpu", "0")) or 0) * 1000)
        memory += int(parse_quantity(requests.get("memory", "0")) or 0)
    return PodRequests(tenant, cpu, memory)


async def open_stores(
    kubeconfig: str | None, namespace: str, include_owners: bool = False
) -> tuple[KubeStores, KubeGatherer]:
    """The Kubernetes-backed stores and gatherer for the `outpost status` commands (kubeconfig,
    else the in-cluster service account); close them with `await stores.kube.close()`."""
    env = os.environ
    in_cluster = kubeconfig is None and bool(env.get("KUBERNETES_SERVICE_HOST"))
    creds = await load_credentials(
        kubeconfig or "", in_cluster, service_url(env) if in_cluster else ""
    )
    kube = Kube(creds, qps=50.0, burst=100, timeout=REQUEST_TIMEOUT)
    return KubeStores(kube, namespace), KubeGatherer(kube, include_owners)
