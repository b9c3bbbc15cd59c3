"""The agent's status-sync task: runs beside the controllers on the leader, only when configured.

Wires the Kubernetes-backed stores and gatherer (`agent.sync.cluster`), the hub client and the
retrying `SyncLoop`. Nothing here reads the hub's answers beyond the signed ack the client
verifies, so a hub cannot make the agent change anything in the cluster.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

from agent.kube.client import Kube
from agent.sync.client import HubClient
from agent.sync.cluster import KubeGatherer, KubeStores
from agent.sync.config import SyncConfig
from agent.sync.cycle import Cycle
from agent.sync.loop import LoopSeams, SyncLoop
from agent.sync.report import ReportOptions
from agent.sync.usage_cluster import KubeUsage, with_usage

log = logging.getLogger(__name__)


def build_loop(
    config: SyncConfig, token: str | None, kube: Kube, namespace: str
) -> tuple[SyncLoop, HubClient]:
    """The retrying loop over the agent's own client (one client, no second login)."""
    stores, usage = KubeStores(kube, namespace), KubeUsage(kube, namespace)
    options = ReportOptions(include_owners=config.include_owners, share=config.share)
    gather = with_usage(KubeGatherer(kube, "owners" in options.shared), usage)
    client = HubClient(config)
    cycle = Cycle(stores, options, config.spool, usage, config.outbox_retention)
    seams = LoopSeams(
        clock=lambda: datetime.now(UTC),
        sleep=asyncio.sleep,
        rng=random.SystemRandom(),
        stop=lambda: False,
    )
    interval = timedelta(seconds=config.interval_seconds)
    return SyncLoop(cycle, client, gather, token, interval, config.retry, seams), client


async def run_sync(
    config: SyncConfig | None, token: str | None, kube: Kube, namespace: str
) -> None:
    """Report to the hub until cancelled; with no hub configured, do nothing (and say so)."""
    if config is None:
        log.info("status sync is off (no hub configured)")
        await asyncio.Event().wait()
        return
    loop, client = build_loop(config, token, kube, namespace)
    log.info("status sync on: reporting every %.0f s", config.interval_seconds)
    try:
        await loop.run()
    finally:
        await client.aclose()
