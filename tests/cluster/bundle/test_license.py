"""Licences on the real control plane: stored by `outpost license apply`, enforced by the agent.

Each test signs a licence with the test vendor's `license` key, stores it with the CLI, and
watches the agent hold back what the licence does not allow, without deleting what runs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bundle.keyring import load_trust_root
from bundle.license import License, sign_license
from bundle.timestamps import now_utc
from tests.cluster.agent.agentkit import OUTPOST, Agent, Kubectl, wait_for
from tests.cluster.bundle.kit import Lineage, tenant
from tests.unit.bundle.factory import key

pytestmark = pytest.mark.cluster
API = "outpost.dev/v1alpha1"


@pytest.fixture
def licences(lineage: Lineage, kubectl: Kubectl) -> Iterator[list[str]]:
    """Names of the License objects a test stored; deleted afterwards (they are cluster-wide),
    with the test's Applications, while the agent still runs to release their finalizers."""
    names: list[str] = []
    yield names
    for name in names:
        kubectl.delete("license", name)
    kubectl.run("delete", "applications", "-l", f"outpost.dev/bundle-product={lineage.product}",
                "--wait=true", "--timeout=60s", check=False)  # fmt: skip


def issue(lineage: Lineage, tag: str, entitlements: dict[str, Any], **fields: Any) -> Path:
    chain = lineage.vendor.chain_bytes
    keyring, _ = load_trust_root(chain)
    now = now_utc().replace(microsecond=0)
    lic = License(
        customer=f"Acme {tag}",
        issued=fields.pop("issued", now),
        expires=fields.pop("expires", now + timedelta(days=365)),
        entitlements=entitlements,
        **fields,
    )
    path = lineage.tmp / f"licence-{tag}.json"
    path.write_bytes(sign_license(lic, chain, keyring, [key("v-license")]))
    return path


def apply_licence(
    lineage: Lineage, path: Path, names: list[str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    name = f"{lineage.product}-{path.stem}"
    argv = [str(OUTPOST), "license", "apply", str(path), "--trust", str(lineage.trust),
            "--kubeconfig", str(lineage.cluster.kubeconfig), "--name", name]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
        names.append(name)
    return proc


def reason(kubectl: Kubectl, kind: str, name: str, want: str, timeout: float = 60) -> str:
    """Wait for Ready's reason to be `want`; return its message."""

    def seen() -> dict[str, Any]:
        found = kubectl.condition(kind, name)
        return found if found.get("reason") == want else {}

    message = f"{kind} {name} reason {want} (now {kubectl.condition(kind, name)})"
    return str(wait_for(seen, timeout, message).get("message"))


def test_max_tenants_two_holds_back_the_third_created(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, licences: list[str]
) -> None:
    path = issue(lineage, "two", {"maxTenants": 2})
    apply_licence(lineage, path, licences)
    reason(kubectl, "license", licences[0], "LicenseValid")
    names = [f"{lineage.product}-{x}" for x in ("a", "b", "c")]
    lineage.apply(lineage.build(1, {"t.yaml": [tenant(n) for n in names]}))
    message = reason(kubectl, "tenant", names[2], "EntitlementExceeded")
    assert "maxTenants=2" in message
    assert "created last" in message
    for name in names[:2]:
        reason(kubectl, "tenant", name, "Reconciled")
    assert kubectl.get("namespace", f"{names[2]}-ns") is None  # nothing of it was applied
    lic = kubectl.get("license", licences[0]) or {}
    wait_for(lambda: (kubectl.get("license", licences[0]) or {}).get("status", {})
             .get("usage", {}).get("tenants", 0) >= 3, 30, "usage counted")  # fmt: skip
    assert lic["status"]["entitlements"] == {"maxTenants": "2"}


def test_expired_licence_blocks_new_bundles_only_after_grace(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, licences: list[str]
) -> None:
    now = now_utc().replace(microsecond=0)
    past = {"issued": now - timedelta(days=60), "expires": now - timedelta(days=1)}
    graced = issue(lineage, "grace", {}, grace=timedelta(days=14), **past)
    apply_licence(lineage, graced, licences)
    message = reason(kubectl, "license", licences[0], "LicenseExpired")
    assert "until" in message
    a = f"{lineage.product}-a"
    lineage.apply(lineage.build(1, {"t.yaml": [tenant(a)]}))
    reason(kubectl, "bundle", lineage.name(1), "Reconciled", timeout=90)

    # A newer licence, expired past its grace: new Bundles are refused, running ones stay.
    later = {"issued": now - timedelta(days=30), "expires": now - timedelta(days=2)}
    ended = issue(lineage, "ended", {}, **later)
    apply_licence(lineage, ended, licences)
    reason(kubectl, "license", licences[1], "LicenseExpired")
    reason(kubectl, "license", licences[0], "LicenseSuperseded")
    b = f"{lineage.product}-b"
    lineage.apply(lineage.build(2, {"t.yaml": [tenant(a), tenant(b)]}))
    message = reason(kubectl, "bundle", lineage.name(2), "LicenseExpired")
    assert "grace period ended" in message
    assert lineage.tenants() == [a]  # nothing of bundle 2, and bundle 1's tenant still there
    assert kubectl.condition("tenant", a).get("status") == "True"


def test_older_licence_never_replaces_a_newer_one(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, licences: list[str]
) -> None:
    now = now_utc().replace(microsecond=0)
    newer = issue(lineage, "newer", {"maxTenants": 5}, issued=now)
    older = issue(lineage, "older", {"maxTenants": 50}, issued=now - timedelta(days=10))
    apply_licence(lineage, newer, licences)
    reason(kubectl, "license", licences[0], "LicenseValid")
    proc = apply_licence(lineage, older, licences, check=False)
    assert proc.returncode == 1
    assert "licence rollback check failed" in proc.stderr
    # By hand, past the CLI: the agent refuses it too, and still after the newer one is gone.
    kubectl.delete("license", licences[0], wait=True)
    name = f"{lineage.product}-by-hand"
    body = {"apiVersion": API, "kind": "License", "metadata": {"name": name},
            "spec": {"license": older.read_text()}}  # fmt: skip
    kubectl.run("create", "-f", "-", stdin=json.dumps(body))
    licences.append(name)
    message = reason(kubectl, "license", name, "RollbackRefused")
    assert "older licence never replaces a newer one" in message


def test_licence_for_another_cluster(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, licences: list[str]
) -> None:
    path = issue(lineage, "other", {"feature.sso": True}, cluster_uid="0000-another-cluster")
    apply_licence(lineage, path, licences)
    message = reason(kubectl, "license", licences[0], "LicenseClusterMismatch")
    uid = (kubectl.get("namespace", "kube-system") or {})["metadata"]["uid"]
    assert "0000-another-cluster" in message
    assert uid in message


def test_feature_gated_application(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, licences: list[str]
) -> None:
    path = issue(lineage, "features", {"feature.sso": True})
    apply_licence(lineage, path, licences)
    reason(kubectl, "license", licences[0], "LicenseValid")
    ns = f"{lineage.product}-apps"
    gated, granted = f"{lineage.product}-audit", f"{lineage.product}-sso"
    apps = [_app(gated, ns, ["feature.audit"]), _app(granted, ns, ["feature.sso"])]
    lineage.apply(lineage.build(1, {"apps.yaml": apps}))
    message = reason(kubectl, "application", gated, "EntitlementMissing")
    assert "feature.audit" in message
    reason(kubectl, "application", granted, "Reconciled", timeout=90)
    assert kubectl.get("configmap", gated, ns) is None
    assert kubectl.get("configmap", granted, ns) is not None


def _app(name: str, namespace: str, requires: list[str]) -> dict[str, Any]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}
    return {"apiVersion": API, "kind": "Application", "metadata": {"name": name},
            "spec": {"namespace": namespace, "requires": requires,
                     "manifests": {"objects": [cm]}}}  # fmt: skip
