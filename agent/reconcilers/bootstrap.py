"""Least-privilege bootstrap of a namespace the agent manages.

Under the chart's RBAC the agent holds no rights inside namespaces cluster-wide: it may create a
Namespace (a plain POST; create cannot be limited by name), and then a RoleBinding `outpost-agent`
in it that binds its own ServiceAccount to the chart's tenant ClusterRole (the `bind` right is
limited to that role, and an admission policy limits both creates to namespaces labelled for a
tenant or application). Only then can it server-side-apply the Namespace and its children.
Without those settings (e.g. run as a cluster admin in development) this does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from agent.core.objects import Obj
from agent.errors import ConflictError
from agent.reconcilers.context import Context

BINDING_NAME = "outpost-agent"
RBAC_V1 = "rbac.authorization.k8s.io/v1"


def agent_binding(namespace: str, cluster_role: str, service_account: str) -> Obj:
    """The RoleBinding that lends the agent the tenant role in a namespace it created."""
    sa_namespace, _, sa_name = service_account.partition("/")
    return {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": {
            "name": BINDING_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "outpost-agent"},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": cluster_role,
        },
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}],
    }


async def bootstrap_namespaces(ctx: Context, objects: Sequence[Obj]) -> None:
    """Create missing Namespaces and the agent's RoleBinding in each, before any apply."""
    role, account = ctx.settings.tenant_cluster_role, ctx.settings.service_account
    if not (role and account):
        return
    for obj in objects:
        if obj.get("kind") != "Namespace":
            continue
        name = obj["metadata"]["name"]
        if await ctx.kube.get("v1", "Namespace", name) is None:
            await _create(ctx, {k: v for k, v in obj.items() if k != "status"})
        await _create(ctx, agent_binding(name, role, account))


async def _create(ctx: Context, obj: Obj) -> None:
    # Already there: a previous visit (or another replica) made it.
    with contextlib.suppress(ConflictError):
        await ctx.kube.create(obj)
