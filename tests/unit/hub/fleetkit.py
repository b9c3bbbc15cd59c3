"""A synthetic fleet written straight into a hub store: thousands of installs in seconds.

The rows are what ingest would store (agents enrolled with a token naming customer and install,
latest reports with their digest), without signing: the fleet page and its benchmark read the
store, not the wire. Health, bundle versions and last-seen ages vary on fixed patterns, so tests
know how many installs each filter must find.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from hub import fleet
from hub.store import AgentRecord, HubStore, StoredReport, TokenRecord

CUSTOMERS = tuple(f"customer-{c:02d}" for c in range(37))
REGIONS = ("eu-west", "us-east", "ap-south")
BUNDLES = ("2.14.0", "2.15.0", "2.15.1")


def is_never(i: int) -> bool:
    return i % 97 == 96


def is_stale(i: int) -> bool:
    return i % 13 == 5 and not is_never(i)


def is_degraded(i: int) -> bool:
    return i % 9 == 4 and not is_never(i)


def payload(i: int) -> dict[str, object]:
    tenants = 3 + i % 20
    ready = tenants - 1 if is_degraded(i) else tenants
    names = [{"name": f"tenant-{t:03d}", "ready": "True" if t < ready else "False",
              "reason": "Ready" if t < ready else "QuotaExceeded",
              "usage": {"pods": 3, "cpu_millicores": 500, "memory_bytes": 2**29}}
             for t in range(tenants)]  # fmt: skip
    return {
        "schema": "outpost.dev/status/v1",
        "bundle": {"version": BUNDLES[i % 3], "sequence": 1000 + i % 3},
        "summary": {
            "dataplanes": {"ready": 1, "total": 1},
            "tenants": {"ready": ready, "total": tenants},
            "applications": {"ready": 2 * tenants, "total": 2 * tenants},
            "usage": {
                "pods": 3 * tenants,
                "cpu_millicores": 500 * tenants,
                "memory_bytes": tenants * 2**29,
            },
        },
        "dataplanes": [{"name": "main", "ready": "True", "reason": "Ready"}],
        "tenants": names,
        "applications": [],
    }


def last_seen(i: int, now: datetime) -> datetime:
    if is_stale(i):
        return now - timedelta(hours=2, minutes=i % 50)
    return now - timedelta(seconds=30 + (i * 7) % 240)


def populate(store: HubStore, count: int, now: datetime, reports_each: int = 1) -> list[str]:
    """`count` installs; returns their agent ids in creation order."""
    ids = []
    for i in range(count):
        digest = hashlib.sha256(f"install-{i}".encode()).hexdigest()
        agent_id, customer = "agt_" + digest[:32], CUSTOMERS[i % len(CUSTOMERS)]
        name = f"{customer}-{REGIONS[i % 3]}-{i:04d}"
        token = TokenRecord(digest, now - timedelta(days=30), now, None, customer, name)
        store.add_token(token)
        record = AgentRecord(agent_id, f"uid-{i:05d}", "key", now - timedelta(days=30), b"ack",
                             customer=customer, display_name=name)  # fmt: skip
        store.enroll(digest, record)
        ids.append(agent_id)
        if is_never(i):
            continue
        doc = payload(i)
        body = json.dumps(doc).encode()
        for seq in range(1, reports_each + 1):
            seen = last_seen(i, now) - timedelta(minutes=5 * (reports_each - seq))
            store.add_report(StoredReport(
                agent_id, seq, f"n{seq}", hashlib.sha256(body + bytes(seq)).hexdigest(), seen,
                seen, False, b"{}", body, b"{}", fleet.digest_text(doc),
            ))  # fmt: skip
    return ids
