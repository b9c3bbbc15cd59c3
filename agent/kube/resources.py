"""Where each kind lives in the REST API: (apiVersion, kind) → URL path, with cached discovery.

Kinds the agent always touches are known up front so a start-up costs no discovery requests;
any other kind (custom resources inside a manifest application) is looked up once per
group-version through `fetch` (an injected async GET, the only I/O here) and cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from agent.errors import KubeError, NotFoundError
from facts.api import API_VERSION


@dataclass(frozen=True)
class Resource:
    """One REST resource: its URL prefix, plural name and scope."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, name: str = "", namespace: str | None = None, subresource: str = "") -> str:
        """The collection or object path, e.g. /api/v1/namespaces/ns/configmaps/name/status."""
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        return f"{base}/{subresource}" if subresource else base


KNOWN: tuple[tuple[str, str, str, bool], ...] = (
    ("v1", "Namespace", "namespaces", False),
    ("v1", "ConfigMap", "configmaps", True),
    ("v1", "Secret", "secrets", True),
    ("v1", "Service", "services", True),
    ("v1", "ServiceAccount", "serviceaccounts", True),
    ("v1", "ResourceQuota", "resourcequotas", True),
    ("v1", "LimitRange", "limitranges", True),
    ("v1", "Event", "events", True),
    ("v1", "Node", "nodes", False),
    ("v1", "Pod", "pods", True),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("apps/v1", "Deployment", "deployments", True),
    ("apps/v1", "StatefulSet", "statefulsets", True),
    ("apps/v1", "DaemonSet", "daemonsets", True),
    ("apps/v1", "ReplicaSet", "replicasets", True),
    ("batch/v1", "Job", "jobs", True),
    ("batch/v1", "CronJob", "cronjobs", True),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True),
    ("networking.k8s.io/v1", "Ingress", "ingresses", True),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    ("coordination.k8s.io/v1", "Lease", "leases", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False),
    (API_VERSION, "DataPlane", "dataplanes", False),
    (API_VERSION, "Tenant", "tenants", False),
    (API_VERSION, "Application", "applications", False),
    (API_VERSION, "Bundle", "bundles", False),
)

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class ResourceMap:
    """Resolves kinds to resources; discovery results are cached for the process lifetime."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._known = {(av, k): Resource(av, k, p, ns) for av, k, p, ns in KNOWN}
        self._discovered: set[str] = set()

    async def resolve(self, api_version: str, kind: str) -> Resource:
        """Return the resource for a kind, discovering its group-version on first use.

        Raises:
            KubeError: the API server does not serve this kind.
        """
        found = self._known.get((api_version, kind))
        if found is None and api_version not in self._discovered:
            await self._discover(api_version)
            found = self._known.get((api_version, kind))
        if found is None:
            raise KubeError(
                f"the API server does not serve kind {kind} in {api_version}; "
                "install its CustomResourceDefinition first",
                status=404,
            )
        return found

    def forget(self, api_version: str) -> None:
        """Drop a group-version from the cache (a CRD was just installed or removed)."""
        self._discovered.discard(api_version)

    async def _discover(self, api_version: str) -> None:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            listing = await self._fetch(path)
        except NotFoundError:
            return
        self._discovered.add(api_version)
        for item in listing.get("resources", []):
            if "/" not in item["name"]:
                key = (api_version, item["kind"])
                self._known[key] = Resource(
                    api_version, item["kind"], item["name"], bool(item.get("namespaced"))
                )
