"""`outpost status outbox` against the cluster's stores: listing and `show` byte for byte."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.kube.client import Kube
from agent.kube.kubeconfig import load_credentials
from agent.sync import outbox
from agent.sync.cluster import KubeStores
from tests.conftest import Cluster

OUTPOST = str(Path(sys.executable).parent / "outpost")


def envelope(seq: int) -> bytes:
    import base64

    payload = json.dumps({"seq": seq, "consent": {"shared": ["health"]}, "usage": [{}]})
    return json.dumps({"payload": base64.b64encode(payload.encode()).decode(),
                       "payloadType": "x", "signatures": []}).encode()  # fmt: skip


async def seed(cluster: Cluster, namespace: str) -> None:
    creds = await load_credentials(str(cluster.kubeconfig), False)
    kube = Kube(creds, qps=50, burst=50, timeout=30)
    try:
        stores = KubeStores(kube, namespace)
        now = datetime.now(UTC)
        await stores.save_outbox([outbox.describe(envelope(1), "sent", now)])
        await stores.save_spool([envelope(2)])
    finally:
        await kube.close()


def test_outbox_lists_and_shows_byte_for_byte(cluster: Cluster, namespace: str) -> None:
    asyncio.run(seed(cluster, namespace))
    base = [OUTPOST, "status", "outbox", "--kubeconfig", str(cluster.kubeconfig),
            "--namespace", namespace]  # fmt: skip
    listed = subprocess.run([*base, "--output", "json"], capture_output=True, text=True,
                            check=True, env=cluster.env)  # fmt: skip
    rows = json.loads(listed.stdout)
    assert [(r["seq"], r["status"], r["usageRecords"]) for r in rows] == [
        (1, "sent", 1),
        (2, "pending", 1),
    ]
    shown = subprocess.run([*base, "show", "1"], capture_output=True, check=True, env=cluster.env)
    assert shown.stdout.rstrip(b"\n") == envelope(1)
