"""DataPlane: observe the cluster (version, nodes, tenants and applications by readiness) → report.

Reads only: the API server's /version, Nodes, Tenants, Applications, Bundles. The DataPlane owns no
children; its status is rewritten only when what it says changes.
"""

from __future__ import annotations

import asyncio

from agent import api
from agent.core.dataplane import DataPlaneObservation, decide_dataplane
from agent.reconcilers.act import act, strip
from agent.reconcilers.context import Context


async def reconcile(ctx: Context, name: str) -> float | None:
    """Visit one DataPlane: gather the cluster's facts, decide, report."""
    dataplane = await ctx.kube.get(api.API_VERSION, "DataPlane", name)
    if dataplane is None:
        ctx.metrics.set_ready("DataPlane", name, None)
        return None
    version, nodes, tenants, apps, bundles = await asyncio.gather(
        ctx.kube.version(),
        ctx.kube.list_objects("v1", "Node"),
        ctx.kube.list_objects(api.API_VERSION, "Tenant"),
        ctx.kube.list_objects(api.API_VERSION, "Application"),
        ctx.kube.list_objects(api.API_VERSION, "Bundle"),
    )
    obs = DataPlaneObservation(
        dataplane=strip(dataplane),
        kubernetes_version=str(version.get("gitVersion", "")),
        nodes=[strip(n) for n in nodes],
        tenants=[strip(t) for t in tenants],
        applications=[strip(a) for a in apps],
        bundles=[strip(b) for b in bundles],
    )
    await act(ctx, obs.dataplane, decide_dataplane(obs, ctx.now()))
    return None
