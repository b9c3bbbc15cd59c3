"""The one cluster handoff of `outpost bundle apply` and `outpost airgap import` (I/O shell).

Both commands hand a verified bundle to the agent the same way; only whether images were pushed
(`airgap import` sets `registry`, which goes into `spec.registry`) differs. The order makes sure
nothing is half-applied:
1. list the cluster's Bundles and read its trust floor (reads only);
2. verify the bundle in one streaming pass; once the manifest verifies and before any content is
   read, `admit` refuses a keyring chain ending below the trust floor (`bundle.trustfloor`), a
   rollback against the bundle in force (unless a signed downgrade permit allows it), a delta
   whose base is not imported here, a bundle with images that nobody pushed, and content or
   envelopes the cluster cannot hold;
3. create the agent namespace if missing and store each content file in a content-addressed,
   immutable ConfigMap (existing ones are reused);
4. create the Bundle object, the only thing the agent acts on, and raise the trust floor.
A failure before step 4 leaves at most some content ConfigMaps: immutable, named by digest,
ignored by the agent until a Bundle points at them, and reused by the next attempt.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bundle import dsse
from bundle.archive import Head
from bundle.cluster import Cluster
from bundle.delta import check_base_content, check_base_imported
from bundle.errors import BundleError, RollbackError
from bundle.importplan import (
    Plan,
    bundle_object,
    check_fits,
    configmap,
    content_name,
    needed,
    split_stored,
)
from bundle.keyring import Keyring
from bundle.lineage import Imported, bundle_name, in_force, lineage
from bundle.manifest import VerifiedManifest, from_payload
from bundle.rollback import Applied, decide, verify_permit
from bundle.trustfloor import (
    Floor,
    applied_from_data,
    applied_to_data,
    check_floor,
    floor_from_data,
    latest,
)
from bundle.verify import Verified, read_head, verify_bundle

WORKERS = 8
ALREADY = "already-imported"
Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class ApplyRequest:
    """What to hand over, and how: the bundle file, the trust root, options of both commands.

    `continue_if_imported`: `airgap import` keeps verifying (and pushing) a bundle the cluster
    already holds, because the registry may have lost images; `bundle apply` stops early.
    """

    path: Path
    trust_root: bytes
    namespace: str
    permit: bytes | None = None
    skip_images: bool = False
    dry_run: bool = False
    continue_if_imported: bool = False
    health_timeout: str = ""
    """`spec.upgrade.healthTimeout` of the Bundle ("" = the agent's default, 10m)."""


class AlreadyImported(Exception):
    """Raised by `admit` to stop reading: the cluster holds this very manifest already."""


class Admission:
    """The checks `verify_bundle` runs once the manifest verified, before content is read."""

    def __init__(
        self,
        request: ApplyRequest,
        bundles: Sequence[Mapping[str, Any]],
        head: Head,
        now: datetime,
        floor: Floor | None = None,
        *,
        remembered: Mapping[str, str] | None = None,
    ) -> None:
        self.request, self.bundles, self.head, self.now = request, bundles, head, now
        self.floor, self.remembered = floor, remembered or {}
        self.decision = ""

    def __call__(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
        """Run every admission check; see the class docstring."""
        m = candidate.manifest
        check_floor(keyring, self.floor)  # a retired key cannot sign by carrying an old chain
        check_fits(m, self.head.chain, self.head.manifest, self.request.permit)
        self.decision = self._rollback(candidate, keyring)
        if self.decision == ALREADY:
            raise AlreadyImported(bundle_name(m.product, m.channel, m.sequence))
        if m.images and not self.request.skip_images:
            raise BundleError(
                f"the bundle carries {len(m.images)} images and `bundle apply` stores no images;"
                " use `outpost airgap import --registry …` to push them, or pass --skip-images"
                " if they are already in your registry"
            )

    def _rollback(self, candidate: VerifiedManifest, keyring: Keyring) -> str:
        m = candidate.manifest
        mine = lineage(self.bundles, m.product, m.channel)
        name = bundle_name(m.product, m.channel, m.sequence)
        same = next((b for b in mine if b.name == name), None)
        if same is not None:
            return _same_name(same, candidate)
        live = in_force(mine)
        # Bundle objects can be deleted: the sequence remembered beside the trust floor still
        # counts, so deleting them does not reopen a rollback.
        last = latest(live.to_applied() if live else None,
                      applied_from_data(self.remembered, m.product, m.channel))  # fmt: skip
        permit = None
        if self.request.permit is not None:
            permit = verify_permit(self.request.permit, keyring, self.now)
        return decide(candidate, last, permit).value


def _same_name(same: Imported, candidate: VerifiedManifest) -> str:
    if same.manifest_digest == candidate.digest:
        return ALREADY
    raise RollbackError(
        f"rollback check failed: Bundle '{same.name}' already holds sequence"
        f" {same.sequence} with a different manifest; the vendor must publish a new sequence"
    )


@dataclass(frozen=True)
class HandoffPlan:
    """The cluster half of a handoff: content to store and the Bundle to create (or not)."""

    plan: Plan
    registry: str = ""

    @property
    def bundle(self) -> str:
        """The Bundle's name."""
        return self.plan.bundle

    @property
    def creates(self) -> bool:
        """Whether the handoff creates a Bundle (False when the cluster holds this manifest)."""
        return not self.plan.noop

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON; `registry` and `createsBundle` when images went to a registry."""
        if not self.registry:
            return self.plan.to_dict()
        return self.plan.to_dict() | {"registry": self.registry, "createsBundle": self.creates}

    def text(self) -> str:
        """The plan for people; one line per step."""
        if not self.registry:
            return self.plan.text()
        if not self.creates:
            return f"Bundle {self.bundle} already exists with this manifest; nothing to create"
        return (
            f"create Bundle {self.bundle} (spec.registry {self.registry}), storing "
            f"{len(self.plan.store)} content files in ConfigMaps of '{self.plan.namespace}' "
            f"({len(self.plan.stored)} already stored); rollback check: {self.plan.decision}"
        )


class Handoff:
    """Admit, plan and apply one bundle against a cluster (see the module docstring)."""

    def __init__(self, cluster: Cluster, request: ApplyRequest, now: datetime) -> None:
        self.cluster, self.request, self.now = cluster, request, now
        self.decision = ""
        self.bundles = cluster.bundles()
        self.remembered = cluster.floor_data(request.namespace)
        self.floor = floor_from_data(self.remembered)

    def admit(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
        """Trust floor, delta base, anti-rollback and size limits, before any content is read.

        Raises:
            AlreadyImported: the cluster holds this manifest (unless `continue_if_imported`).
            BundleError: any check refused the bundle.
        """
        if candidate.manifest.base is not None:
            check_base_imported(candidate.manifest, self.bundles)
            stored = self.cluster.stored(self.request.namespace)
            check_base_content(candidate.manifest, stored, content_name)
        head = read_head(self.request.path)
        admission = Admission(
            self.request, self.bundles, head, self.now, self.floor, remembered=self.remembered
        )
        try:
            admission(candidate, keyring)
            self.decision = admission.decision
        except AlreadyImported:
            if not self.request.continue_if_imported:
                raise
            self.decision = ALREADY

    def plan(self, verified: Verified, registry: str = "") -> HandoffPlan:
        """What `apply` would write; writes nothing."""
        m = verified.manifest
        namespace = self.request.namespace
        store, stored = split_stored(needed(m), self.cluster.stored(namespace))
        if self.decision == ALREADY:
            store, stored = (), ()
        notes: tuple[str, ...] = ()
        if m.images and not registry:
            notes = (f"{len(m.images)} images were not pushed (--skip-images)",)
        plan = Plan(
            bundle_name(m.product, m.channel, m.sequence), m.product, m.channel, m.sequence,
            verified.verified.digest, self.decision, namespace, store, stored, notes,
        )  # fmt: skip
        return HandoffPlan(plan, registry)

    def apply(self, verified: Verified, registry: str = "") -> HandoffPlan:
        """Store the content ConfigMaps, then create the Bundle (skipped when already there)."""
        planned = self.plan(verified, registry)
        if not planned.creates:
            return planned
        if verified.staging is None:
            raise BundleError("internal: the bundle was verified without a staging directory")
        self.cluster.ensure_namespace(self.request.namespace)
        paths = [f.path for f in planned.plan.store]
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda path: self._store(verified, path), paths))
        body = bundle_object(
            verified.verified, verified.chain, verified.manifest_envelope,
            self.request.namespace, self.request.permit,
        )  # fmt: skip
        if self.request.health_timeout:
            body["spec"]["upgrade"] = {"healthTimeout": self.request.health_timeout}
        if registry:
            body["spec"]["registry"] = registry
        self.cluster.create_bundle(body)
        self.cluster.raise_floor(self.request.namespace, verified.keyring)
        m, applied = (
            verified.manifest,
            Applied(verified.manifest.sequence, verified.verified.digest),
        )
        self.cluster.remember(
            self.request.namespace, applied_to_data(m.product, m.channel, applied)
        )
        return planned

    def _store(self, verified: Verified, path: str) -> None:
        assert verified.staging is not None
        try:
            data = (verified.staging / path).read_bytes()
        except OSError as exc:
            raise BundleError(f"cannot read staged file '{path}': {exc.strerror}") from exc
        self.cluster.store(configmap(verified.manifest.file(path), data, self.request.namespace))


def apply_bundle(
    request: ApplyRequest, cluster: Cluster, now: datetime, progress: Progress = None
) -> Plan:
    """`bundle apply`: verify, check, store and create the Bundle (or only plan, `dry_run`)."""
    handoff = Handoff(cluster, request, now)
    head = read_head(request.path)
    tmp = Path(tempfile.mkdtemp(prefix="outpost-apply-"))
    staging = None if request.dry_run else tmp / "content"
    try:
        try:
            verified = verify_bundle(
                request.path, request.trust_root, now, staging=staging, progress=progress,
                admit=handoff.admit,
            )  # fmt: skip
        except AlreadyImported as done:
            return _noop(str(done), head, request.namespace)
        if request.dry_run:
            return handoff.plan(verified).plan
        return handoff.apply(verified).plan
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _noop(name: str, head: Head, namespace: str) -> Plan:
    m = from_payload(dsse.parse(head.manifest, "manifest").payload)
    digest = hashlib.sha256(dsse.parse(head.manifest).payload).hexdigest()
    return Plan(name, m.product, m.channel, m.sequence, digest, ALREADY, namespace)
