"""The one entry point of the reconcile path: route a (kind, name) key to its kind's visitor.

Every trigger, watch events and the periodic resync alike, ends here. Each visitor returns
seconds until the key should be visited again, or None (the next event or resync).
"""

from __future__ import annotations

from agent.reconcilers import application, bundle, dataplane, license, tenant
from agent.reconcilers.context import Context

VISITORS = {
    "Tenant": tenant.reconcile,
    "Application": application.reconcile,
    "DataPlane": dataplane.reconcile,
    "Bundle": bundle.reconcile,
    "License": license.reconcile,
}


async def reconcile(ctx: Context, kind: str, name: str) -> float | None:
    """Visit one object of `kind` (DataPlane, Tenant, Application, Bundle or License)."""
    return await VISITORS[kind](ctx, name)
