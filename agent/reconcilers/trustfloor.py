"""The trust floor, agent side: no Bundle verifies with a keyring older than one already seen.

I/O: the ConfigMap `outpost-trust-floor` in the agent's namespace (read, then created or patched
with its resourceVersion, so two writers cannot lower it by racing); the rule is
`bundle.trustfloor`'s. `bundle apply` and `airgap import` keep the same ConfigMap. It is not a
Bundle and nothing deletes it with Bundles; the chart lets the agent create it and change it by
name, never delete it (SECURITY.md, "Anti-rollback of trust").
"""

from __future__ import annotations

from typing import Any

from agent.errors import ConflictError
from agent.reconcilers.context import Context
from bundle.keyring import Keyring
from bundle.rollback import Applied
from bundle.trustfloor import (
    check_floor,
    floor_from_data,
    floor_to_data,
    raised,
    to_remember,
)
from facts.api import TRUST_FLOOR_CONFIGMAP

ATTEMPTS = 3  # a 409 means `bundle apply` (or another visit) wrote it first: read it again


async def hold(ctx: Context, keyring: Keyring) -> dict[str, str]:
    """Refuse `keyring` when it is below the floor; otherwise raise the floor to it.

    Returns what the ConfigMap remembers (the floor and each channel's applied sequence).

    Raises:
        TrustRollbackError: below the floor, or its version with another keyring.
        KubeError: the ConfigMap could not be read or written (the visit is retried).
    """
    for attempt in range(ATTEMPTS):
        try:
            return await _hold_once(ctx, keyring)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise  # `bundle apply` or another visit keeps writing it: retried later
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _hold_once(ctx: Context, keyring: Keyring) -> dict[str, str]:
    namespace = ctx.settings.namespace
    live = await ctx.kube.get("v1", "ConfigMap", TRUST_FLOOR_CONFIGMAP, namespace)
    data = dict((live or {}).get("data") or {})
    floor = floor_from_data(data)
    check_floor(keyring, floor)
    new = raised(floor, keyring)
    if new is not None:
        await _store(ctx, live, floor_to_data(new), namespace)
    return data


async def remember(ctx: Context, product: str, channel: str, applied: Applied) -> None:
    """Remember the sequence applied on a channel beside the floor (Bundles may be deleted)."""
    namespace = ctx.settings.namespace
    live = await ctx.kube.get("v1", "ConfigMap", TRUST_FLOOR_CONFIGMAP, namespace)
    data = to_remember((live or {}).get("data"), product, channel, applied)
    if data is None:
        return  # already as high: no write on a visit that changes nothing, never a lower one
    await _store(ctx, live, data, namespace)


async def _store(
    ctx: Context, live: dict[str, Any] | None, data: dict[str, str], namespace: str
) -> None:
    if live is None:
        meta = {"name": TRUST_FLOOR_CONFIGMAP, "namespace": namespace,
                "labels": {"app.kubernetes.io/part-of": "outpost"}}  # fmt: skip
        await ctx.kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                               "data": data})  # fmt: skip
        return
    # The resourceVersion makes the API server refuse (409) if another writer got there first.
    version = live["metadata"]["resourceVersion"]
    await ctx.kube.patch(live, {"metadata": {"resourceVersion": version}, "data": data})
