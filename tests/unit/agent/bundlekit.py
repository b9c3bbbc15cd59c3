"""Signed Bundle objects and their content ConfigMaps, built in memory for the reconciler tests.

Throwaway keys from `tests.unit.bundle.factory` (fixed seeds); no tar: the manifest is signed
directly and the Bundle and ConfigMaps are the objects `outpost bundle apply` would create.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from bundle.importplan import bundle_object, configmap
from bundle.manifest import ChartEntry, FileEntry, Manifest, ResourceEntry, sign_manifest
from bundle.rollback import DowngradePermit, sign_permit
from bundle.stored import verify_stored
from tests.unit.bundle.factory import NOW, Vendor

NAMESPACE = "outpost-system"
PRODUCT = "acme"


def tenant_doc(name: str) -> str:
    doc = {"apiVersion": "outpost.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name},
           "spec": {"namespaces": [f"{name}-ns"]}}  # fmt: skip
    return json.dumps(doc)


def tenants_file(*names: str) -> bytes:
    return "\n---\n".join(tenant_doc(n) for n in names).encode()


def make(
    v: Vendor,
    sequence: int,
    files: dict[str, bytes],
    *,
    permit: bytes | None = None,
    created: str = "2026-11-02T10:00:00Z",
    signers: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Bundle (resources = every `resources/` file, in order) and its content ConfigMaps."""
    entries = tuple(
        FileEntry(p, len(d), hashlib.sha256(d).hexdigest()) for p, d in sorted(files.items())
    )
    resources = tuple(
        ResourceEntry(p, i) for i, p in enumerate(sorted(files)) if p.startswith("resources/")
    )
    charts = tuple(
        ChartEntry(p, p.split("/")[1].rsplit("-", 1)[0], p.rsplit("-", 1)[1][:-4])
        for p in sorted(files)
        if p.startswith("charts/")
    )
    crds = tuple(p for p in sorted(files) if p.startswith("crds/"))
    expires = NOW + timedelta(days=180)
    manifest = Manifest(PRODUCT, "stable", f"1.{sequence}.0", sequence, NOW, expires, entries,
                        (), crds, charts, resources)  # fmt: skip
    envelope = sign_manifest(manifest, signers or v.bundle_keys[:1]).to_json()
    verified = verify_stored(v.chain_bytes, envelope, v.trust_root(), NOW)
    body = bundle_object(verified, v.chain_bytes, envelope, NAMESPACE, permit)
    body["metadata"]["creationTimestamp"] = created
    cms = [configmap(e, files[e.path], NAMESPACE) for e in entries]
    return body, cms


def permit_for(v: Vendor, sequence: int) -> bytes:
    permit = DowngradePermit(PRODUCT, "stable", sequence, f"1.{sequence}.0", NOW + timedelta(1))
    return sign_permit(permit, v.bundle_keys[:1]).to_json()


def tenants_ready(kube: Any) -> None:
    """What the Tenant reconciler would write once each Tenant is Ready (the fake runs none)."""
    for (kind, _, _), obj in kube.objects.items():
        if kind == "Tenant":
            ready = {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ok"}
            generation = obj["metadata"].get("generation", 1)
            obj["status"] = {"observedGeneration": generation, "conditions": [ready]}
