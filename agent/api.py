"""The agent's API surface: labels, condition types and reasons (names from `facts.api`).

Pure: no I/O. The CRDs in `charts/outpost-agent/files/crds/` must agree with this module; a unit
test loads them and checks group, version, plural, names and the condition schema against `KINDS`.
"""

from __future__ import annotations

from facts import api

GROUP, VERSION, API_VERSION, CATEGORY = api.GROUP, api.VERSION, api.API_VERSION, api.CATEGORY
FIELD_MANAGER = api.FIELD_MANAGER
KindInfo = api.KindInfo
DATAPLANE, TENANT, APPLICATION, BUNDLE, LICENSE, KINDS = (
    api.DATAPLANE, api.TENANT, api.APPLICATION, api.BUNDLE, api.LICENSE, api.KINDS,
)  # fmt: skip
SUPPORT_BUNDLE_REQUEST, CRD_KINDS = api.SUPPORT_BUNDLE_REQUEST, api.CRD_KINDS

FINALIZER = "outpost.dev/cleanup"
"""Held on Tenants and Applications until their children are released or removed."""

# Labels and annotations.
LABEL_TENANT = "outpost.dev/tenant"
"""On tenant namespaces and every tenant child: the owning Tenant's name."""
LABEL_APPLICATION = "outpost.dev/application"
"""On data-plane-scoped application namespaces and every manifest-app object: the Application."""
LABEL_MANAGED_BY = "outpost.dev/managed-by"
"""Ours alone: Helm overwrites `app.kubernetes.io/managed-by` on release objects, this survives."""
LABEL_K8S_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "outpost-agent"
MANAGED_LABELS = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_K8S_MANAGED_BY: MANAGED_BY}
ANNOTATION_REVISION = "outpost.dev/revision"
"""Digest of the desired state an object was rendered from (diagnostics only)."""

PSA_LABELS = tuple(f"pod-security.kubernetes.io/{mode}" for mode in ("enforce", "audit", "warn"))
"""Pod Security Admission labels set on every tenant namespace to the tenant's level."""


class ConditionType:
    """Condition types. Reconciling and Stalled are abnormal-true: present only while true."""

    READY = "Ready"
    """Summary: True when the object's desired state is applied and healthy."""
    RECONCILING = "Reconciling"
    """Work is under way or waiting on something that will change by itself; retrying helps."""
    STALLED = "Stalled"
    """Retrying cannot help until a human changes the spec or the cluster."""
    VERIFIED = "Verified"
    """Bundle only: the signed manifest, keyring chain and content digests verified."""
    APPLIED = "Applied"
    """Bundle only: every resource of the bundle was applied to the cluster."""
    PREFLIGHT_PASSED = "PreflightPassed"
    """Bundle only: the bundle's strict preflight checks passed before anything was applied."""


class Reason:
    """Condition and event reasons: CamelCase, stable API. Each says when it is used."""

    RECONCILED = "Reconciled"
    """Ready=True: the desired state is applied and every object is healthy."""
    INITIALIZING = "Initializing"
    """Ready=Unknown on the first visit, before anything is known."""
    PROGRESSING = "Progressing"
    """Reconciling=True: objects were applied and are becoming healthy."""
    PROGRESSING_WITH_RETRY = "ProgressingWithRetry"
    """Reconciling=True: a transient failure (API error, timeout) will be retried."""
    APPLY_FAILED = "ApplyFailed"
    """Ready=False: the API server refused a write; the message quotes its answer."""
    NAMESPACE_CONFLICT = "NamespaceConflict"
    """Stalled: a requested namespace exists and is not labelled for this tenant or application."""
    RESERVED_NAMESPACE = "ReservedNamespace"
    """Stalled: a requested namespace is reserved by the DataPlane's `spec.reservedNamespaces`."""
    TENANT_NOT_FOUND = "TenantNotFound"
    """Stalled: `spec.tenantRef.name` names no Tenant."""
    NAMESPACE_NOT_IN_TENANT = "NamespaceNotInTenant"
    """Stalled: `spec.namespace` is not one of the referenced tenant's namespaces."""
    QUOTA_BELOW_USAGE = "QuotaBelowUsage"
    """Stalled: a quota value is below what a namespace already uses."""
    SOURCE_INVALID = "SourceInvalid"
    """Stalled: the Application's source (chart path, reference) cannot be used as given."""
    CLUSTER_SCOPE_NOT_APPROVED = "ClusterScopeNotApproved"
    """Stalled: a chart would create cluster-scoped objects the customer has not approved."""
    CHART_RENDER_FAILED = "ChartRenderFailed"
    """Stalled: `helm template`/`install` could not render the chart with the given values."""
    REFERRER_MISSING = "ReferrerMissing"
    """Ready=False: an image lacks a referrer `spec.verify.requireReferrers` names (e.g. its
    signature) in its registry, or is not pinned by digest; nothing is applied."""
    MANIFEST_INVALID = "ManifestInvalid"
    """Stalled: an embedded manifest lacks apiVersion/kind/name or targets a foreign namespace."""
    HELM_RELEASE_FAILED = "HelmReleaseFailed"
    """Ready=False: the Helm release is in a failed state after install or upgrade."""
    DEPENDENCY_NOT_READY = "DependencyNotReady"
    """Reconciling=True: the referenced Tenant (or other dependency) is not Ready yet."""
    SUSPENDED = "Suspended"
    """Ready keeps its last status: `spec.suspend` is true, so nothing is applied or pruned."""
    HEALTH_CHECK_FAILED = "HealthCheckFailed"
    """Ready=False: at least one applied object is Failed (kstatus rules)."""
    CUSTOM_RESOURCE_HEALTH_UNKNOWN = "CustomResourceHealthUnknown"
    """Ready=Unknown: an applied custom resource publishes no status, so health cannot be told."""
    DELETING = "Deleting"
    """Ready=False while the object is being deleted and its children are removed."""
    WAITING_FOR_APPLICATIONS = "WaitingForApplications"
    """A deleting Tenant waits until no Application references it."""
    VERIFIED = "Verified"
    """Verified=True: signature, keyring chain and content digests check out."""
    VERIFICATION_FAILED = "VerificationFailed"
    """Verified=False, Stalled: the bundle failed verification; import a correctly signed bundle."""
    ROLLBACK_REFUSED = "RollbackRefused"
    """Stalled: the bundle's sequence is older than the applied one and carries no valid permit."""
    APPLIED = "Applied"
    """Applied=True: every resource in the bundle was applied."""
    NOT_APPLIED = "NotApplied"
    """Applied=False: the bundle is verified but its resources are not (all) applied yet."""
    PREFLIGHT_PASSED = "PreflightPassed"
    """PreflightPassed=True: every strict preflight check passed (non-strict failures warn)."""
    PREFLIGHT_FAILED = "PreflightFailed"
    """PreflightPassed=False, Ready=False: a strict preflight check failed; nothing of the
    bundle is applied and the bundle in force stays in force."""
    ROLLED_BACK = "RolledBack"
    """Ready=False, Stalled: the upgraded Bundle's Tenants and Applications were not all Ready
    within `spec.upgrade.healthTimeout`; the Bundle it replaced is in force again."""
    ENTITLEMENT_EXCEEDED = "EntitlementExceeded"
    """Ready=False: beyond the licence's maxTenants/maxApplications this object was created last;
    nothing of it is applied or deleted until the licence allows it."""
    ENTITLEMENT_MISSING = "EntitlementMissing"
    """Ready=False: the Application's `spec.requires` names a feature the licence lacks."""
    LICENSE_VALID = "LicenseValid"
    """License Ready=True: the licence verified and is in force."""
    LICENSE_EXPIRED = "LicenseExpired"
    """License: past its expiry (Ready=False). Bundle: past the grace period too, so new
    Bundles are not applied (what runs keeps running)."""
    LICENSE_EXPIRING = "LicenseExpiring"
    """License Ready=True: the licence expires within 30 days."""
    LICENSE_CLUSTER_MISMATCH = "LicenseClusterMismatch"
    """License Ready=False: the licence is bound to another cluster's uid (kube-system)."""
    LICENSE_SUPERSEDED = "LicenseSuperseded"
    """License Ready=False: a licence issued later is in force; this one is ignored."""
    LICENSE_REQUIRED = "LicenseRequired"
    """Ready=False: the chart value `license.required` is true and no valid licence is in force;
    nothing new is applied (running workloads are left alone)."""
