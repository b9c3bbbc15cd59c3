"""Outpost's Kubernetes API names: group, version, kinds, labels, content naming, product version.

The CRDs in `charts/outpost-agent/files/crds/` must agree with this module; a unit test loads
them and checks group, version, plural and names against `KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

GROUP = "outpost.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "outpost"

FIELD_MANAGER = "outpost-agent"
"""Server-side apply field manager for every write the agent makes."""

CONTENT_PREFIX = "outpost-content-"
"""Name prefix of the immutable ConfigMaps that hold a bundle's content, one per sha256."""

TRUST_FLOOR_CONFIGMAP = "outpost-trust-floor"
"""ConfigMap in the agent namespace holding the newest keyring verified (see SECURITY.md)."""


@dataclass(frozen=True)
class KindInfo:
    """Names of one Outpost kind, as the CRD declares them."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]

    @property
    def crd_name(self) -> str:
        """`<plural>.<group>`, the CRD's metadata.name."""
        return f"{self.plural}.{GROUP}"


DATAPLANE = KindInfo("DataPlane", "dataplanes", "dataplane", ("odp",))
TENANT = KindInfo("Tenant", "tenants", "tenant", ("otenant",))
APPLICATION = KindInfo("Application", "applications", "application", ("oapp",))
BUNDLE = KindInfo("Bundle", "bundles", "bundle", ("obundle",))
LICENSE = KindInfo("License", "licenses", "license", ("olicense",))
KINDS = (DATAPLANE, TENANT, APPLICATION, BUNDLE, LICENSE)
"""The cluster-scoped kinds the agent reconciles (watched, queued, dispatched)."""
SUPPORT_BUNDLE_REQUEST = KindInfo(
    "SupportBundleRequest", "supportbundlerequests", "supportbundlerequest", ("osbr",)
)
"""Namespaced, in the agent namespace only; served by a poll (`agent.support.request`)."""
CRD_KINDS = (*KINDS, SUPPORT_BUNDLE_REQUEST)
"""Every kind the chart's CRDs declare."""


def product_version() -> str:
    """The installed `outpost` distribution's version (pyproject.toml is the one source)."""
    try:
        return metadata.version("outpost")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"
