"""Handing an imported bundle to the cluster: the `Bundle` object, with `spec.registry` set.

I/O shell over `bundle.cluster` (the Kubernetes calls live there, so `airgap` never imports a
Kubernetes client): lists the cluster's Bundles once, decides anti-rollback with the same
`Admission` as `outpost bundle apply` (before any content is read), then stores the content the
agent reads in content-addressed ConfigMaps and creates the Bundle. The registry location goes
into `spec.registry`; the agent relocates image references to it at apply time, using digests
from the signed manifest only. An already-imported manifest creates nothing new.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airgap.errors import AirgapError
from bundle.cluster import ALREADY, Admission, AlreadyImported, ApplyRequest, Cluster
from bundle.delta import check_base_content, check_base_imported
from bundle.errors import BundleError
from bundle.importplan import Plan, bundle_object, configmap, content_name, needed, split_stored
from bundle.keyring import Keyring
from bundle.lineage import bundle_name
from bundle.manifest import VerifiedManifest
from bundle.verify import Verified, read_head

WORKERS = 8


@dataclass(frozen=True)
class HandoffPlan:
    """The cluster half of an import: content to store and the Bundle to create (or not)."""

    plan: Plan
    registry: str

    @property
    def bundle(self) -> str:
        return self.plan.bundle

    @property
    def creates(self) -> bool:
        return not self.plan.noop

    def to_dict(self) -> dict[str, Any]:
        return self.plan.to_dict() | {"registry": self.registry, "createsBundle": self.creates}

    def text(self) -> str:
        if not self.creates:
            return f"Bundle {self.bundle} already exists with this manifest; nothing to create"
        return (
            f"create Bundle {self.bundle} (spec.registry {self.registry}), storing "
            f"{len(self.plan.store)} content files in ConfigMaps of '{self.plan.namespace}' "
            f"({len(self.plan.stored)} already stored); rollback check: {self.plan.decision}"
        )


class ClusterHandoff:
    """Implements `airgap.importer.Handoff` against a real cluster."""

    def __init__(
        self,
        kubeconfig: str | None,
        request: ApplyRequest,
        now: datetime,
    ) -> None:
        self.cluster = Cluster(kubeconfig)
        self.request = request
        self.now = now
        self.decision = ""
        self._bundles = self.cluster.bundles()
        self._floor = self.cluster.floor(request.namespace)

    @classmethod
    def open(
        cls, kubeconfig: str | None, path: Path, trust_root: bytes, namespace: str, now: datetime
    ) -> ClusterHandoff:
        request = ApplyRequest(path, trust_root, namespace, skip_images=True)
        try:
            return cls(kubeconfig, request, now)
        except BundleError as exc:
            raise AirgapError(f"cluster: {exc}") from exc

    def admit(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
        """Anti-rollback and size limits, before any content is read or anything pushed.

        A delta also needs its base imported and verified here, its content still stored.
        """
        if candidate.manifest.base is not None:
            check_base_imported(candidate.manifest, self._bundles)
            stored = self.cluster.stored(self.request.namespace)
            check_base_content(candidate.manifest, stored, content_name)
        head = read_head(self.request.path)
        admission = Admission(self.request, self._bundles, head, self.now, self._floor)
        try:
            admission(candidate, keyring)
            self.decision = admission.decision
        except AlreadyImported:
            # Still verify and push (HEADs find everything): the registry may have lost images.
            self.decision = ALREADY

    def plan(self, verified: Verified, registry: str) -> HandoffPlan:
        m = verified.manifest
        namespace = self.request.namespace
        store, stored = split_stored(needed(m), self.cluster.stored(namespace))
        if self.decision == ALREADY:
            store, stored = (), ()
        name = bundle_name(m.product, m.channel, m.sequence)
        plan = Plan(
            name, m.product, m.channel, m.sequence, verified.verified.digest, self.decision,
            namespace, store, stored,
        )  # fmt: skip
        return HandoffPlan(plan, registry)

    def apply(self, verified: Verified, registry: str) -> HandoffPlan:
        """Store the content ConfigMaps, then create the Bundle (skipped when already there)."""
        planned = self.plan(verified, registry)
        if not planned.creates:
            return planned
        if verified.staging is None:
            raise AirgapError("internal: the bundle was verified without a staging directory")
        self.cluster.ensure_namespace(self.request.namespace)
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda p: self._store(verified, p), [f.path for f in planned.plan.store]))
        body = bundle_object(
            verified.verified, verified.chain, verified.manifest_envelope, self.request.namespace
        )
        body["spec"]["registry"] = registry
        self.cluster.create_bundle(body)
        self.cluster.raise_floor(self.request.namespace, verified.keyring)
        return planned

    def _store(self, verified: Verified, path: str) -> None:
        assert verified.staging is not None
        try:
            data = (verified.staging / path).read_bytes()
        except OSError as exc:
            raise AirgapError(f"cannot read staged file '{path}': {exc.strerror}") from exc
        entry = verified.manifest.file(path)
        self.cluster.store(configmap(entry, data, self.request.namespace))
