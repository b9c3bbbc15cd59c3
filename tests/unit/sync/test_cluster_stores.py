"""The Kubernetes side of status sync against the real local control plane.

Aspects: the key, state and spool persist in the Secret and ConfigMap of the agent's namespace
and survive re-opening; the gatherer reads the cluster uid and sums pod requests per tenant
namespace (label `outpost.dev/tenant`); an export works end to end over the real stores. (Lives
with the rest of sync; it may move under tests/cluster/.)
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.sync.cluster import IDENTITY_SECRET, SPOOL_CONFIGMAP, open_stores
from agent.sync.cycle import Cycle
from agent.sync.state import ensure_identity, key_to_pem
from bundle import dsse

pytestmark = pytest.mark.cluster


def write_pod(folder: Path, name: str, cpu: str, memory: str) -> Path:
    container = {"name": "c", "image": "registry.invalid/x:1",
                 "resources": {"requests": {"cpu": cpu, "memory": memory}}}  # fmt: skip
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [container]}}  # fmt: skip
    path = folder / f"{name}.json"
    path.write_text(json.dumps(manifest))
    return path


def create_pod(cluster: Any, namespace: str, manifest: Path) -> None:
    for _ in range(60):  # the namespace's default ServiceAccount appears asynchronously
        created = cluster.kubectl_run("-n", namespace, "create", "-f", str(manifest), check=False)
        if created.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{manifest.name} could not be created in {namespace}")


def test_stores_persist_in_the_agents_namespace(cluster: Any, namespace: str) -> None:
    async def go() -> None:
        stores, _ = await open_stores(str(cluster.kubeconfig), namespace)
        again, _ = await open_stores(str(cluster.kubeconfig), namespace)
        try:
            key, state = await ensure_identity(stores, stores)
            await stores.save_spool([b'{"a":1}', b'{"b":2}'])
            assert key_to_pem(await again.load_key()) == key_to_pem(key)  # type: ignore[arg-type]
            assert await again.load_state() == state
            assert await again.load_spool() == (b'{"a":1}', b'{"b":2}')
        finally:
            await stores.kube.close()
            await again.kube.close()

    asyncio.run(go())
    assert cluster.kubectl_run("-n", namespace, "get", "secret", IDENTITY_SECRET).returncode == 0
    assert cluster.kubectl_run("-n", namespace, "get", "configmap", SPOOL_CONFIGMAP).returncode == 0


def test_the_gatherer_sums_requests_per_tenant_and_exports(
    cluster: Any, namespace: str, tmp_path: Path
) -> None:
    tenant_ns = f"{namespace}-acme"
    cluster.kubectl_run("create", "namespace", tenant_ns)

    async def go() -> None:
        stores, gather = await open_stores(str(cluster.kubeconfig), namespace)
        try:
            pods = [p for p in await gather.pod_requests() if p.tenant == "acme"]
            assert sorted((p.cpu_millicores, p.memory_bytes) for p in pods) == [
                (250, 64 * 2**20), (1000, 2**30),
            ]  # fmt: skip
            uid = cluster.kubectl_run(
                "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"
            )
            snapshot = await gather()
            assert snapshot.cluster_uid == uid.stdout.strip()
            exported = await Cycle(stores).export(snapshot, datetime.now(UTC), "n1")
            payload = json.loads(dsse.parse(exported.splitlines()[-1]).payload)
            assert payload["cluster_uid"] == snapshot.cluster_uid
            assert payload["seq"] == 1
        finally:
            await stores.kube.close()

    try:
        cluster.kubectl_run("label", "namespace", tenant_ns, "outpost.dev/tenant=acme")
        create_pod(cluster, tenant_ns, write_pod(tmp_path, "one", "250m", "64Mi"))
        create_pod(cluster, tenant_ns, write_pod(tmp_path, "two", "1", "1Gi"))
        asyncio.run(go())
    finally:
        cluster.kubectl_run("delete", "namespace", tenant_ns, "--wait=false", check=False)
