"""Leader election over a coordination.k8s.io/v1 Lease of our own (I/O through agent.kube.client).

Only the leader runs the work queue; standbys keep their watches warm and write nothing but
their attempts on the Lease. A standby takes over when the holder has not renewed for a whole
lease duration, measured on the standby's own monotonic clock from the moment it last saw the
record change (so clock skew between replicas does not matter). A leader that cannot renew
within the lease duration steps down before anyone can take over; a clean shutdown releases the
Lease so the hand-over is immediate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.errors import ConflictError, KubeError
from facts import rfc3339

log = logging.getLogger(__name__)
KubeObject = dict[str, Any]


class LeaseApi(Protocol):
    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None:
        """The Lease, or None."""

    async def create(self, obj: KubeObject) -> KubeObject:
        """Create the Lease."""

    async def replace(self, obj: KubeObject) -> KubeObject:
        """Replace the Lease at its resourceVersion."""


@dataclass(frozen=True)
class Observation:
    """The last Lease record we saw and when (monotonic seconds) we first saw it."""

    resource_version: str
    holder: str
    seen_at: float


def may_acquire(obs: Observation, me: str, now: float, lease_seconds: float) -> bool:
    """Pure: whether `me` may write the Lease (ours already, released, or expired as we saw it)."""
    return obs.holder in ("", me) or now - obs.seen_at >= lease_seconds


def microtime(now: datetime) -> str:
    """A Lease's MicroTime field (RFC 3339 with microseconds)."""
    return rfc3339.format_time(now, fraction=True)


class LeaderElector:
    """Keeps trying to hold the Lease; `leading` is set while we hold it."""

    def __init__(
        self,
        kube: LeaseApi,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_seconds: float,
        renew_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.lease_seconds, self.renew_seconds = lease_seconds, renew_seconds
        self.clock = clock
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        self.lost.set()
        self._obs: Observation | None = None
        self._last_renew = 0.0

    async def run(self) -> None:
        """Try to acquire or renew every renew period, forever (cancel to stop)."""
        while True:
            try:
                held = await self.try_acquire_or_renew()
            except KubeError as exc:
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                held = (
                    self.leading.is_set() and self.clock() - self._last_renew < self.lease_seconds
                )
            self._set_leading(held)
            await asyncio.sleep(self.renew_seconds)

    def _set_leading(self, held: bool) -> None:
        if held and not self.leading.is_set():
            log.info("became leader as %s", self.identity)
            self.lost.clear()
            self.leading.set()
        elif not held and self.leading.is_set():
            log.warning("lost leadership of lease %s/%s", self.namespace, self.name)
            self.leading.clear()
            self.lost.set()

    async def try_acquire_or_renew(self) -> bool:
        """Take the Lease or renew it; True while this replica leads."""
        now = self.clock()
        lease = await self.kube.get("coordination.k8s.io/v1", "Lease", self.name, self.namespace)
        if lease is None:
            return await self._write(None, now)
        spec = lease.get("spec") or {}
        rv = lease["metadata"]["resourceVersion"]
        if self._obs is None or self._obs.resource_version != rv:
            self._obs = Observation(rv, spec.get("holderIdentity") or "", now)
        if not may_acquire(
            self._obs,
            self.identity,
            now,
            float(spec.get("leaseDurationSeconds") or self.lease_seconds),
        ):
            return False
        return await self._write(lease, now)

    async def _write(self, lease: KubeObject | None, now: float) -> bool:
        body = self._body(lease, holder=self.identity)
        try:
            saved = await (self.kube.replace(body) if lease else self.kube.create(body))
        except ConflictError:
            return False  # someone else wrote first; look again next round
        self._obs = Observation(saved["metadata"]["resourceVersion"], self.identity, now)
        self._last_renew = now
        return True

    def _body(self, lease: KubeObject | None, holder: str) -> KubeObject:
        stamp = microtime(datetime.now(UTC))
        old = (lease or {}).get("spec") or {}
        taking_over = old.get("holderIdentity") != holder
        spec = {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(self.lease_seconds),
            "acquireTime": stamp if taking_over else old.get("acquireTime", stamp),
            "renewTime": stamp,
            "leaseTransitions": int(old.get("leaseTransitions", 0))
            + (1 if taking_over and lease else 0),
        }
        meta: KubeObject = {"name": self.name, "namespace": self.namespace}
        if lease:
            meta["resourceVersion"] = lease["metadata"]["resourceVersion"]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": spec,
        }

    async def release(self) -> None:
        """Give the Lease up (clean shutdown) so a standby takes over at once."""
        if not self.leading.is_set():
            return
        self._set_leading(False)
        try:
            lease = await self.kube.get(
                "coordination.k8s.io/v1", "Lease", self.name, self.namespace
            )
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                body = self._body(lease, holder="")
                body["spec"]["leaseDurationSeconds"] = 1
                await self.kube.replace(body)
        except KubeError as exc:
            log.warning("could not release lease %s/%s: %s", self.namespace, self.name, exc)
