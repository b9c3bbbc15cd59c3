"""The cluster side of usage metering: the checkpoint ConfigMap and what is listed per visit.

I/O shell over the agent's one async client (`agent.kube.client.Kube`). The running account lives
in the ConfigMap `outpost-agent-usage` in the agent's namespace and is written with the
resourceVersion it was read at (compare-and-set): two writers, e.g. a leader that has just lost
its Lease and its successor, can never both apply a visit, so no time is credited twice. Pods are
read per tenant namespace, as the status snapshot reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from agent.core.usage import codec, ledger
from agent.core.usage.ledger import UsageState
from agent.core.usage.meters import Item, ObjectMeter, meters_of, object_item, pod_item
from agent.errors import ConflictError, KubeError
from agent.kube.client import Kube, KubeObject
from agent.sync.cluster import PART_OF, TENANT_LABEL
from agent.sync.snapshot import ClusterSnapshot
from agent.sync.usage_records import MAX_RECORDS_PER_REPORT
from facts.api import GROUP, VERSION
from wire.usage import UsageRecord

log = logging.getLogger(__name__)
USAGE_CONFIGMAP = "outpost-agent-usage"
MAX_WRITE_ATTEMPTS = 5


class KubeUsage:
    """Checkpoint store and lister for the metering loop (and the report's pending records)."""

    def __init__(self, kube: Kube, namespace: str, meters: Iterable[ObjectMeter] = ()) -> None:
        self.kube = kube
        self.namespace = namespace
        self.meters = tuple(meters)
        self.where = f"ConfigMap '{namespace}/{USAGE_CONFIGMAP}'"

    async def load(self) -> tuple[UsageState | None, str | None]:
        """The checkpoint and its resourceVersion (None, None before the first write)."""
        found = await self.kube.get("v1", "ConfigMap", USAGE_CONFIGMAP, self.namespace)
        if found is None:
            return None, None
        text = (found.get("data") or {}).get("state.json", "")
        try:
            state = codec.from_dict(json.loads(text)) if text else None
        except ValueError as exc:
            raise KubeError(f"{self.where}: {exc}") from exc
        return state, str(found["metadata"]["resourceVersion"])

    async def save(self, state: UsageState, version: str | None) -> None:
        """Write the checkpoint if nobody wrote it since `version` was read (else 409)."""
        meta: KubeObject = {"name": USAGE_CONFIGMAP, "namespace": self.namespace, "labels": PART_OF}
        if version is not None:
            meta["resourceVersion"] = version
        text = json.dumps(codec.to_dict(state), separators=(",", ":"))
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {"state.json": text}}  # fmt: skip
        if version is None:
            await self.kube.create(body)  # AlreadyExists is a 409 as well
        else:
            await self.kube.replace(body)

    async def update(self, change: Callable[[UsageState], UsageState]) -> None:
        """Load, change and save, retrying on conflicts; nothing to do before the first visit."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            state, version = await self.load()
            if state is None:
                return
            try:
                await self.save(change(state), version)
                return
            except ConflictError:
                continue
        raise KubeError(f"{self.where} keeps changing under us")

    async def pending(self, limit: int) -> tuple[UsageRecord, ...]:
        """The closed-window records waiting for a report."""
        state, _ = await self.load()
        return ledger.take_pending(state, limit) if state else ()

    async def acknowledge(self, records: Iterable[UsageRecord]) -> None:
        """Mark records as sent (they travel in a spooled report now)."""
        done = tuple(records)
        if done:
            await self.update(lambda s: ledger.acknowledge(s, done))

    async def restore(self, records: Iterable[UsageRecord]) -> None:
        """Give records back, to ride in the next report."""
        back = tuple(records)
        if back:
            await self.update(lambda s: ledger.restore(s, back))

    async def cluster_uid(self) -> str:
        """The cluster's uid (kube-system's)."""
        found = await self.kube.get("v1", "Namespace", "kube-system")
        return str(((found or {}).get("metadata") or {}).get("uid", ""))

    async def declared(self) -> tuple[ObjectMeter, ...]:
        """The vendor-defined meters the DataPlane declares (none before its CRD exists)."""
        try:
            dataplanes = await self.kube.list_objects(f"{GROUP}/{VERSION}", "DataPlane")
        except KubeError as exc:
            log.warning("usage metering cannot read the DataPlane's meters: %s", exc)
            return ()
        return (*self.meters, *meters_of(dataplanes))

    async def gather(self) -> tuple[list[Item], list[str]]:
        """Every metered item in tenant namespaces, and the tenants present."""
        meters = await self.declared()
        found = await self.kube.list_objects("v1", "Namespace", labels=TENANT_LABEL)
        spaces = {ns["metadata"]["name"]: ns["metadata"]["labels"][TENANT_LABEL] for ns in found}
        items: list[Item] = []
        for namespace, tenant in sorted(spaces.items()):
            items.extend(await self.items(namespace, tenant, meters))
        return items, sorted(set(spaces.values()))

    async def items(
        self, namespace: str, tenant: str, meters: tuple[ObjectMeter, ...]
    ) -> list[Item]:
        """What the meters count in one tenant namespace: pods, and the declared objects."""
        pods = await self.kube.list_objects("v1", "Pod", namespace=namespace)
        found = [pod_item(pod, tenant) for pod in pods]
        for meter in meters:
            try:
                objects = await self.kube.list_objects(
                    meter.api_version, meter.kind, namespace=namespace, labels=meter.label
                )
            except KubeError as exc:  # an unknown kind or a missing permission: that meter only
                log.warning("usage meter %s cannot list %s: %s", meter.name, meter.kind, exc)
                continue
            found.extend(object_item(obj, tenant, meter) for obj in objects)
        return [item for item in found if item is not None]


@dataclass
class Visit:
    """One visit's outcome: the account now, and the one last written (or read) by this process."""

    state: UsageState
    written: UsageState
    wrote: bool


async def visit_once(
    store: KubeUsage, window_seconds: int, now: datetime, due: bool, last: Visit | None = None
) -> Visit:
    """One metering visit: list, credit, close; checkpoint when records were issued or `due`.

    Continues from this process's account in memory (`last`) unless another writer metered
    since; the checkpoint is written with the version it was read at, so a concurrent writer
    makes this visit's write fail (409) instead of both counting.
    """
    stored, version = await store.load()
    if stored is None:
        stored = UsageState(window_seconds, install=await store.cluster_uid())
    start = ledger.resume(stored, last.written if last else None, last.state if last else None)
    items, tenants = await store.gather()
    after = ledger.visit(ledger.resize(start, window_seconds, now), items, tenants, now)
    # A first checkpoint waits like any other (until `due`): pods are credited from their own
    # start times, so a restart before it loses nothing, and a restart over a cluster that is
    # already in sync stays write-free.
    if not (ledger.urgent(stored, after) or (due and (version is None or after != stored))):
        return Visit(after, last.written if last else stored, False)
    try:
        await store.save(after, version)
    except ConflictError:
        return Visit(stored, stored, False)  # start over from what the other writer left
    return Visit(after, after, True)


def with_usage(
    gather: Callable[[], Awaitable[ClusterSnapshot]], store: KubeUsage
) -> Callable[[], Awaitable[ClusterSnapshot]]:
    """A snapshot gatherer whose snapshots also carry the pending usage records."""

    async def both() -> ClusterSnapshot:
        snapshot = await gather()
        return replace(snapshot, usage=await store.pending(MAX_RECORDS_PER_REPORT))

    return both
