"""Applications: target namespace, manifest rendering, Helm release naming, inventory and prune.

Pure: the Application, its Tenant (if any) and plain objects in; values or Problems out. The
runtime runs Helm and parses `helm get manifest` into objects; this module only names and shapes.
A tenant-scoped app deploys into one of its tenant's namespaces and may not create cluster-scoped
objects; a data-plane-scoped app deploys into `spec.namespace`, which the agent creates.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent import api
from agent.core.conditions import Problem
from agent.core.health.state import is_true
from agent.core.objects import Obj, ObjectRef, is_namespaced, owner_reference, ref_of

RELEASE_NAME_MAX = 53
REVISION_LENGTH = 32
REVISION_MARK = "outpost.dev/revision="
APP_POD_SECURITY = "baseline"
"""Pod Security level of a data-plane app's own namespace (enforce, audit and warn)."""
Namespaced = Callable[[str], bool]
"""kind → whether it is namespaced (default: `agent.objects.is_namespaced`)."""


@dataclass(frozen=True)
class HelmSource:
    """`spec.helm`: chart (bundle path, `oci://` reference, URL or name in `repoURL`) and values."""

    chart: str
    version: str = ""
    release_name: str = ""
    repo_url: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str:
        """'oci', 'repo' (chart in a repository or an archive URL) or 'bundle' (a local path)."""
        if self.chart.startswith("oci://"):
            return "oci"
        if self.repo_url or self.chart.startswith(("https://", "http://")):
            return "repo"
        return "bundle"


@dataclass(frozen=True)
class AppSpec:
    """The parts of `Application.spec` the agent acts on."""

    name: str
    tenant: str = ""
    namespace: str = ""
    helm: HelmSource | None = None
    objects: tuple[Obj, ...] = ()
    version: str = ""
    suspend: bool = False
    require_referrers: tuple[str, ...] = ()

    @classmethod
    def from_object(cls, app: Mapping[str, Any]) -> AppSpec:
        """The Application's spec as a typed value."""
        spec = app.get("spec") or {}
        helm = spec.get("helm")
        return cls(
            name=app["metadata"]["name"],
            tenant=(spec.get("tenantRef") or {}).get("name") or "",
            namespace=spec.get("namespace") or "",
            helm=_helm_source(helm) if helm else None,
            objects=tuple((spec.get("manifests") or {}).get("objects") or ()),
            version=str(spec.get("version") or ""),
            suspend=bool(spec.get("suspend", False)),
            require_referrers=tuple(
                str(t) for t in (spec.get("verify") or {}).get("requireReferrers") or ()
            ),
        )


def _helm_source(raw: Mapping[str, Any]) -> HelmSource:
    return HelmSource(
        chart=str(raw["chart"]),
        version=str(raw.get("version") or ""),
        release_name=str(raw.get("releaseName") or ""),
        repo_url=str(raw.get("repoURL") or ""),
        values=copy.deepcopy(dict(raw.get("values") or {})),
        images={str(k): str(v) for k, v in (raw.get("images") or {}).items()},
    )


def resolve_namespace(app: AppSpec, tenant: Mapping[str, Any] | None) -> str | Problem:
    """The namespace the app deploys into, or why it cannot be used yet."""
    if not app.tenant:
        if not app.namespace:
            message = "`spec.namespace` must be set when `spec.tenantRef` is absent; set it."
            return Problem(api.Reason.MANIFEST_INVALID, message)
        return app.namespace
    if tenant is None:
        message = f"Tenant '{app.tenant}' in `spec.tenantRef.name` does not exist; create it."
        return Problem(api.Reason.TENANT_NOT_FOUND, message)
    namespaces = list((tenant.get("spec") or {}).get("namespaces") or ())
    target = app.namespace or (namespaces[0] if namespaces else "")
    if target not in namespaces:
        allowed = ", ".join(f"'{n}'" for n in namespaces)
        message = f"`spec.namespace` '{target}' is not in tenant '{app.tenant}'; use {allowed}."
        return Problem(api.Reason.NAMESPACE_NOT_IN_TENANT, message)
    return target


def tenant_not_ready(app: AppSpec, tenant: Mapping[str, Any]) -> Problem | None:
    """DependencyNotReady (Reconciling, not Stalled) while the tenant is not Ready."""
    generation = (tenant.get("metadata") or {}).get("generation")
    observed = (tenant.get("status") or {}).get("observedGeneration")
    if is_true(tenant, api.ConditionType.READY) and observed in (None, generation):
        return None
    message = f"Tenant '{app.tenant}' is not Ready yet; the application waits for it."
    return Problem(api.Reason.DEPENDENCY_NOT_READY, message, stalled=False)


def release_name(app: AppSpec) -> str:
    """The Helm release name: `releaseName` or the app name, DNS-safe, at most 53 characters."""
    wanted = (app.helm.release_name if app.helm else "") or app.name
    name = re.sub(r"[^a-z0-9-]", "-", wanted.lower()).strip("-")
    if len(name) <= RELEASE_NAME_MAX:
        return name
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
    return f"{name[: RELEASE_NAME_MAX - 9].rstrip('-')}-{digest}"


def revision(app: AppSpec, namespace: str, chart_digest: str = "") -> str:
    """A digest (32 hex) of all that, when changed, must trigger a new apply or Helm upgrade:
    the spec and, when known, the digest of the chart's bytes (a chart fixed under the same
    name and version is a new revision). Without a digest the revision is the spec's alone."""
    desired = {
        "namespace": namespace,
        "helm": None if app.helm is None else _helm_revision(app.helm),
        "objects": list(app.objects),
        "version": app.version,
    }
    if chart_digest:
        desired["chart"] = chart_digest
    blob = json.dumps(desired, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:REVISION_LENGTH]


def _helm_revision(helm: HelmSource) -> dict[str, Any]:
    """`spec.helm` as the revision sees it; `images` only when set, so that revisions of
    releases made before it existed stay the same."""
    out = vars(helm) | {"values": helm.values}
    if not helm.images:
        out.pop("images")
    return out


def describe_revision(rev: str) -> str:
    """The Helm release description that records which spec revision a release was made from."""
    return f"{REVISION_MARK}{rev}"


def revision_of(description: str) -> str:
    """The spec revision recorded by `describe_revision`, or "" (Helm wrote its own text)."""
    return description.removeprefix(REVISION_MARK) if description.startswith(REVISION_MARK) else ""


def app_labels(app: AppSpec) -> dict[str, str]:
    """Labels on every object the agent renders for `app`."""
    return {**api.MANAGED_LABELS, api.LABEL_APPLICATION: app.name}


def render_namespace(application: Mapping[str, Any], namespace: str) -> Obj:
    """The namespace of a data-plane-scoped app, labelled and owned by the Application."""
    # Pod Security is always enforced on the agent's namespaces (the chart's admission policy
    # refuses one without it); an application's own namespace gets the tenants' default level.
    psa = dict.fromkeys(api.PSA_LABELS, APP_POD_SECURITY)
    labels = {**app_labels(AppSpec.from_object(application)), **psa}
    meta = {"name": namespace, "labels": labels, "ownerReferences": [owner_reference(application)]}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def render_manifests(
    application: Mapping[str, Any], namespace: str, namespaced: Namespaced = is_namespaced
) -> list[Obj] | Problem:
    """The embedded objects, namespaced into `namespace`, labelled and owned by the Application."""
    app = AppSpec.from_object(application)
    rendered = []
    for index, raw in enumerate(app.objects):
        result = _render_one(app, application, raw, namespace, namespaced)
        if isinstance(result, str):
            where = f"`spec.manifests.objects[{index}]`"
            return Problem(api.Reason.MANIFEST_INVALID, f"{where} {result}")
        rendered.append(result)
    return rendered


def _render_one(
    app: AppSpec, owner: Mapping[str, Any], raw: Obj, namespace: str, namespaced: Namespaced
) -> Obj | str:
    obj = copy.deepcopy(raw)
    meta = obj.setdefault("metadata", {})
    if not obj.get("apiVersion") or not obj.get("kind") or not meta.get("name"):
        return "must have `apiVersion`, `kind` and `metadata.name`; add the missing fields."
    if namespaced(obj["kind"]):
        meta.setdefault("namespace", namespace)
        if app.tenant and meta["namespace"] != namespace:
            return (
                f"targets namespace '{meta['namespace']}'; tenant apps may only use '{namespace}'."
            )
    elif app.tenant:
        return f"is a cluster-scoped {obj['kind']}; tenant-scoped apps may not create those."
    meta["labels"] = {**(meta.get("labels") or {}), **app_labels(app)}
    meta["ownerReferences"] = [owner_reference(owner)]
    return obj


def inventory(objects: Iterable[Mapping[str, Any]]) -> tuple[ObjectRef, ...]:
    """Sorted, de-duplicated refs of `objects` (rendered manifests or a parsed Helm manifest)."""
    return tuple(sorted({ref_of(obj) for obj in objects if obj.get("kind")}))


def inventory_from_status(status: Mapping[str, Any] | None) -> tuple[ObjectRef, ...]:
    """The inventory recorded in `status.inventory` by the previous visit."""
    return tuple(ObjectRef.from_dict(item) for item in (status or {}).get("inventory") or ())


def prune_set(previous: Iterable[ObjectRef], desired: Iterable[ObjectRef]) -> tuple[ObjectRef, ...]:
    """What was applied before and is no longer desired, namespaced objects first."""
    gone = set(previous) - set(desired)
    return tuple(sorted(gone, key=lambda ref: (ref.namespace == "", ref)))
