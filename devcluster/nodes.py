"""The fake Nodes kwok manages: realistic allocatable so the scheduler places Pods normally."""

from __future__ import annotations

import httpx

from devcluster.commands import NODE_ANNOTATION
from devcluster.errors import ComponentError

NODE_NAMES = ["kwok-node-0", "kwok-node-1"]
CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def node_manifest(name: str) -> dict[str, object]:
    """A kwok-managed Node with fixed capacity (8 CPU, 32Gi, 110 pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": CAPACITY, "capacity": CAPACITY},
    }


def create_nodes(client: httpx.Client) -> None:
    """Create the kwok Nodes (an existing one is fine)."""
    for name in NODE_NAMES:
        resp = client.post("/api/v1/nodes", json=node_manifest(name))
        if resp.status_code not in (201, 409):
            raise ComponentError(
                f"could not create node {name}: HTTP {resp.status_code} {resp.text[:300]}"
            )
