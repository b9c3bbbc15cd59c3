"""Bundles for the cluster tests: built with throwaway keys, imported by the CLI or by hand.

`Lineage` owns one product (a unique name per test, so tests never see each other's Bundles):
it builds signed bundles of Tenants or ConfigMaps, runs `outpost bundle apply`, and can create a
Bundle object directly (what a user with kubectl could do, bypassing the CLI's own checks), so
the agent's refusals are tested on their own.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bundle.build import BuildRequest, build
from bundle.importplan import bundle_object, configmap, needed
from bundle.rollback import DowngradePermit, sign_permit
from bundle.timestamps import now_utc
from bundle.verify import verify_bundle
from tests.cluster.agent.agentkit import OUTPOST, Kubectl
from tests.conftest import Cluster
from tests.unit.bundle.factory import Vendor

API = "outpost.dev/v1alpha1"


def tenant(name: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Tenant", "metadata": {"name": name},
            "spec": {"namespaces": [f"{name}-ns"]}}  # fmt: skip


def config_map(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": {"n": name}}  # fmt: skip


@dataclass
class Lineage:
    cluster: Cluster
    kubectl: Kubectl
    vendor: Vendor
    product: str
    namespace: str
    tmp: Path

    @property
    def trust(self) -> Path:
        path = self.tmp / "trust-root.json"
        if not path.exists():
            path.write_bytes(self.vendor.trust_root())
        return path

    def build(self, sequence: int, files: dict[str, list[dict[str, Any]]], tag: str = "") -> Path:
        """A signed bundle whose `resources/` files hold `files[path]` objects (one per doc)."""
        src = self.tmp / f"src-{sequence}{tag}"
        (src / "resources").mkdir(parents=True)
        for path, objs in files.items():
            text = "\n---\n".join(json.dumps(o) for o in objs)
            (src / "resources" / path).write_text(text)
        out = self.tmp / f"{self.product}-{sequence}{tag}.bundle.tar"
        request = BuildRequest(src, out, f"1.{sequence}.0", sequence, product=self.product,
                               expires_in=timedelta(days=30))  # fmt: skip
        build(request, self.vendor.chain_bytes, self.vendor.bundle_keys[:1], now_utc())
        return out

    def permit(self, sequence: int) -> Path:
        permit = DowngradePermit(self.product, "stable", sequence, f"1.{sequence}.0",
                                 now_utc() + timedelta(days=1))  # fmt: skip
        path = self.tmp / f"permit-{sequence}.json"
        path.write_bytes(sign_permit(permit, self.vendor.bundle_keys[:1]).to_json())
        return path

    def apply(
        self, bundle: Path, *extra: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(OUTPOST), "bundle", "apply", str(bundle), "--trust", str(self.trust),
                "--kubeconfig", str(self.cluster.kubeconfig), "--namespace", self.namespace,
                *extra]  # fmt: skip
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"bundle apply failed ({proc.returncode}): {proc.stderr}")
        return proc

    def by_hand(self, bundle: Path, trust: bytes | None = None) -> str:
        """Store content and create the Bundle with kubectl, skipping the CLI's checks."""
        verified = verify_bundle(bundle, trust or self.vendor.trust_root(), now_utc(),
                                 staging=self.tmp / f"staged-{bundle.stem}")  # fmt: skip
        assert verified.staging is not None
        cms = [configmap(f, (verified.staging / f.path).read_bytes(), self.namespace)
               for f in needed(verified.manifest)]  # fmt: skip
        body = bundle_object(verified.verified, verified.chain, verified.manifest_envelope,
                             self.namespace)  # fmt: skip
        self.kubectl.apply(*cms)
        self.kubectl.run("create", "-f", "-", stdin=json.dumps(body))
        return str(body["metadata"]["name"])

    def name(self, sequence: int) -> str:
        return f"{self.product}-stable-{sequence}"

    def ready(self, name: str) -> dict[str, Any]:
        return self.kubectl.condition("bundle", name)

    def tenants(self) -> list[str]:
        selector = f"outpost.dev/bundle-product={self.product}"
        items = self.kubectl.items("tenants", selector=selector)
        return sorted(
            t["metadata"]["name"] for t in items if not t["metadata"].get("deletionTimestamp")
        )

    def cleanup(self) -> None:
        self.kubectl.run("delete", "tenants", "-l", f"outpost.dev/bundle-product={self.product}",
                         "--wait=true", "--timeout=60s", check=False)  # fmt: skip
        self.kubectl.run("delete", "bundles", "-l", f"outpost.dev/product={self.product}",
                         check=False)  # fmt: skip
