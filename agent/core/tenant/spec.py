"""The effective spec of a Tenant: its own `spec` merged over the DataPlane's `tenantDefaults`.

Pure: raw spec dicts (already validated by the CRD schema) in, frozen values out. Merge rules:
quota `hard` and each limitRange section merge key by key (the tenant wins); isolation and Pod
Security level fall back to the DataPlane, then to 'default-deny' and 'baseline'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.core.reserved import DEFAULT_RESERVED, reserved_patterns

DEFAULT_ISOLATION = "default-deny"
DEFAULT_POD_SECURITY = "baseline"
DEFAULT_OWNER_ROLE = "admin"
LIMIT_SECTIONS = ("default", "defaultRequest", "max", "min")


@dataclass(frozen=True)
class Egress:
    """One declared egress allowance: a CIDR and optional (port, protocol) pairs."""

    name: str
    cidr: str
    ports: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Egress:
        """An egress allowance from the Tenant's spec."""
        ports = tuple(
            (int(p["port"]), str(p.get("protocol") or "TCP")) for p in raw.get("ports") or ()
        )
        return cls(str(raw["name"]), str(raw["cidr"]), ports)


@dataclass(frozen=True)
class TenantDefaults:
    """`DataPlane.spec.tenantDefaults`: what a Tenant gets unless it says otherwise."""

    isolation: str = DEFAULT_ISOLATION
    pod_security: str = DEFAULT_POD_SECURITY
    quota: Mapping[str, Any] = field(default_factory=dict)
    limit_range: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reserved_namespaces: tuple[str, ...] = DEFAULT_RESERVED

    @classmethod
    def from_dataplane(
        cls, dataplane: Mapping[str, Any] | None, reserved: tuple[str, ...] = ()
    ) -> TenantDefaults:
        """Defaults from a DataPlane object (or none when there is no DataPlane); `reserved`
        adds namespace names to the DataPlane's reserved ones."""
        raw = ((dataplane or {}).get("spec") or {}).get("tenantDefaults") or {}
        return cls(
            isolation=(raw.get("isolation") or {}).get("networkPolicy") or DEFAULT_ISOLATION,
            pod_security=(raw.get("podSecurity") or {}).get("level") or DEFAULT_POD_SECURITY,
            quota=dict((raw.get("quota") or {}).get("hard") or {}),
            limit_range=_limit_sections(raw.get("limitRange")),
            reserved_namespaces=reserved_patterns(dataplane) + reserved,
        )


@dataclass(frozen=True)
class TenantSpec:
    """The effective Tenant spec the renderer works from."""

    namespaces: tuple[str, ...]
    isolation: str = DEFAULT_ISOLATION
    allow_dns: bool = True
    allow_same_tenant: bool = True
    egress: tuple[Egress, ...] = ()
    quota: Mapping[str, Any] = field(default_factory=dict)
    limit_range: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    owners: tuple[tuple[str, str], ...] = ()
    owner_role: str = DEFAULT_OWNER_ROLE
    pod_security: str = DEFAULT_POD_SECURITY
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    namespace_annotations: Mapping[str, str] = field(default_factory=dict)
    suspend: bool = False
    reserved_namespaces: tuple[str, ...] = DEFAULT_RESERVED
    """Names no tenant may use (the DataPlane's); not part of the Tenant's own spec."""

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], defaults: TenantDefaults) -> TenantSpec:
        """Merge a raw `Tenant.spec` over `defaults`."""
        net = spec.get("networkPolicy") or {}
        meta = spec.get("namespaceMetadata") or {}
        return cls(
            namespaces=tuple(spec.get("namespaces") or ()),
            isolation=net.get("isolation") or defaults.isolation,
            allow_dns=bool(net.get("allowDNS", True)),
            allow_same_tenant=bool(net.get("allowSameTenant", True)),
            egress=tuple(Egress.from_dict(e) for e in net.get("egress") or ()),
            quota={**defaults.quota, **((spec.get("quota") or {}).get("hard") or {})},
            limit_range=_merge_limits(
                defaults.limit_range, _limit_sections(spec.get("limitRange"))
            ),
            owners=tuple((o["kind"], o["name"]) for o in spec.get("owners") or ()),
            owner_role=spec.get("ownerRole") or DEFAULT_OWNER_ROLE,
            pod_security=(spec.get("podSecurity") or {}).get("level") or defaults.pod_security,
            namespace_labels=dict(meta.get("labels") or {}),
            namespace_annotations=dict(meta.get("annotations") or {}),
            suspend=bool(spec.get("suspend", False)),
            reserved_namespaces=defaults.reserved_namespaces,
        )


def _limit_sections(raw: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {key: dict(raw[key]) for key in LIMIT_SECTIONS if raw and raw.get(key)}


def _merge_limits(
    base: Mapping[str, Mapping[str, Any]], over: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    keys = [k for k in LIMIT_SECTIONS if k in base or k in over]
    return {k: {**base.get(k, {}), **over.get(k, {})} for k in keys}
