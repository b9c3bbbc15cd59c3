"""Preflight, agent side: read a new Bundle's Preflight objects and gather the cluster's facts.

I/O: the bundle's `preflight/*.yaml` content (checked against the signed manifest like every
content file), the API server's version, nodes, storage classes, CRDs, the discovery documents
of the group/versions the checks name, and a TCP connection to the Bundle's registry when a
check asks whether it is reachable. The checks themselves are `bundle.preflight`'s, the same
code `outpost preflight` runs from a workstation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import k8syaml
from agent.core.bundle import Checked
from agent.errors import KubeError
from agent.kube.events import Notice, emit
from agent.reconcilers.content import read_content
from agent.reconcilers.context import Context, KubeObject
from bundle.preflight import Check, ClusterFacts, Result, checks_of, evaluate, quantity
from bundle.preflight import requested_resources as requested
from refs.address import parse_address
from refs.errors import RefsError

REGISTRY_TIMEOUT = 5.0


async def run(ctx: Context, bundle: KubeObject, checked: Checked) -> tuple[Result, ...] | None:
    """The results of the bundle's checks (None when it carries none)."""
    manifest = checked.manifest
    if not manifest.preflight:
        return None
    checks: list[Check] = []
    for path in manifest.preflight:
        data = await read_content(ctx.kube, bundle, manifest, path)
        checks += checks_of([d for d in k8syaml.load_all(data) if isinstance(d, dict)], path)
    registry = str((bundle.get("spec") or {}).get("registry") or "")
    return tuple(evaluate(checks, await gather(ctx, checks, registry)))


async def gather(ctx: Context, checks: list[Check], registry: str) -> ClusterFacts:
    """The facts the checks are decided on, read through the agent's client."""
    version, nodes, classes, crds = await asyncio.gather(
        ctx.kube.version(),
        ctx.kube.list_objects("v1", "Node"),
        _list(ctx, "storage.k8s.io/v1", "StorageClass"),
        _list(ctx, "apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    )
    cpu = sum(quantity((n.get("status") or {}).get("allocatable", {}).get("cpu", 0)) for n in nodes)
    memory = sum(
        quantity((n.get("status") or {}).get("allocatable", {}).get("memory", 0)) for n in nodes
    )
    default = "storageclass.kubernetes.io/is-default-class"
    return ClusterFacts(
        version=str(version.get("gitVersion") or ""),
        nodes=len(nodes),
        cpu=cpu,
        memory=memory,
        storage_classes={
            c["metadata"]["name"]: (c["metadata"].get("annotations") or {}).get(default) == "true"
            for c in classes
        },
        api_resources=frozenset(await _served(ctx, requested(checks))),
        crds=frozenset(c["metadata"]["name"] for c in crds),
        registry=await _reachable(registry) if _asks_registry(checks) and registry else None,
    )


async def _list(ctx: Context, api_version: str, kind: str) -> list[KubeObject]:
    return [dict(o) for o in await ctx.kube.list_objects(api_version, kind)]


async def _served(ctx: Context, wanted: list[str]) -> set[str]:
    """Which of `group/version/kind` the discovery documents list."""
    served: set[str] = set()
    for group_version in sorted({w.rsplit("/", 1)[0] for w in wanted if "/" in w}):
        path = f"/api/{group_version}" if group_version == "v1" else f"/apis/{group_version}"
        try:
            doc: dict[str, Any] = await ctx.kube.get_path(path)
        except KubeError:  # a group/version not served answers 404
            continue
        served |= {f"{group_version}/{r.get('kind')}" for r in doc.get("resources") or ()}
    return served


def _asks_registry(checks: list[Check]) -> bool:
    return any(c.kind == "registryReachable" for c in checks)


async def _reachable(registry: str) -> bool:
    """Whether a TCP connection to the registry's host and port opens within the timeout."""
    try:
        address = parse_address(registry)
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address.host.strip("[]"), address.port or 443),
            REGISTRY_TIMEOUT,
        )
    except (OSError, TimeoutError, RefsError):
        return False
    writer.close()
    return True


async def warn(ctx: Context, bundle: KubeObject, results: tuple[Result, ...]) -> None:
    """One Warning Event per failed check: strict ones stop the bundle, the others only warn."""
    notices = [
        Notice("Warning", "PreflightFailed" if r.strict else "PreflightWarning",
               f"Preflight check {r.name} ({r.kind}) failed: {r.message}")
        for r in results
        if r.passed is False
    ]  # fmt: skip
    if notices:
        await emit(ctx.kube, bundle, notices, ctx.now())
