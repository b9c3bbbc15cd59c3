"""`outpost bundle apply`: verify a bundle, store it, and hand it to the agent (I/O shell).

I/O: the official `kubernetes` sync client (kubeconfig), the bundle file, a private staging dir.
The order makes sure nothing is half-applied:
1. list the cluster's Bundles (reads only);
2. verify the bundle in one streaming pass; once the manifest verifies and before any content is
   read, `admit` refuses a keyring chain ending below the cluster's trust floor (ConfigMap
   `outpost-trust-floor`, `bundle.trustfloor`), a rollback (against the bundle in force), a
   bundle with images (unless `skip_images`), and content or envelopes the cluster cannot hold;
3. stage the verified CRDs, resources and charts in a private temp dir;
4. create the agent namespace if missing and store each file in a content-addressed immutable
   ConfigMap (existing ones are reused);
5. create the Bundle object, the only thing the agent acts on, and raise the trust floor.
A failure before step 5 leaves at most some content ConfigMaps: immutable, named by digest,
ignored by the agent until a Bundle points at them, and reused by the next attempt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bundle import dsse
from bundle.archive import Head
from bundle.errors import BundleError, RollbackError
from bundle.importplan import (
    CONTENT_LABEL,
    Plan,
    bundle_object,
    check_fits,
    configmap,
    needed,
    split_stored,
)
from bundle.keyring import Keyring
from bundle.lineage import Imported, bundle_name, in_force, lineage
from bundle.manifest import VerifiedManifest, from_payload
from bundle.rollback import decide, verify_permit
from bundle.trustfloor import Floor, check_floor, floor_from_data, floor_to_data, raised
from bundle.verify import Verified, read_head, verify_bundle
from facts.api import BUNDLE, GROUP, TRUST_FLOOR_CONFIGMAP, VERSION

PLURAL = BUNDLE.plural
WORKERS = 8
ALREADY = "already-imported"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@dataclass(frozen=True)
class ApplyRequest:
    path: Path
    trust_root: bytes
    namespace: str
    permit: bytes | None = None
    skip_images: bool = False
    dry_run: bool = False


class Cluster:
    """The few API calls `bundle apply` makes, with errors translated to BundleError."""

    def __init__(self, kubeconfig: str | None) -> None:
        from kubernetes import client, config

        try:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig or None
            )
        except (config.ConfigException, OSError, ValueError, TypeError) as exc:
            where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
            raise BundleError(f"cannot load Kubernetes credentials from {where}: {exc}") from exc
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    @contextmanager
    def _call(self, what: str, ok: tuple[int, ...] = ()) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            if exc.status not in ok:
                raise BundleError(f"cannot {what}: HTTP {exc.status} {exc.reason}") from exc
        except HTTPError as exc:
            raise BundleError(f"cannot {what}: {exc}; is the API server reachable?") from exc

    def bundles(self) -> list[dict[str, Any]]:
        found: Any = {}
        with self._call("list Bundles (are the Outpost CRDs installed?)"):
            found = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        return list(found.get("items", []))

    def stored(self, namespace: str) -> set[str]:
        """Names of the content ConfigMaps there; metadata only, never their (large) data."""
        raw: Any = None
        with self._call(f"list content ConfigMaps in '{namespace}'", ok=(404,)):
            raw = self.core.list_namespaced_config_map(
                namespace,
                label_selector=f"{CONTENT_LABEL}=true",
                _preload_content=False,
                _headers={"Accept": METADATA_ONLY},
            )
        if raw is None:
            return set()
        try:
            items = json.loads(raw.data).get("items") or []
        except ValueError as exc:
            raise BundleError(f"cannot read the ConfigMap list of '{namespace}': {exc}") from exc
        return {str(item["metadata"]["name"]) for item in items}

    def ensure_namespace(self, namespace: str) -> None:
        body: Any = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        with self._call(f"create namespace '{namespace}'", ok=(409,)):
            self.core.create_namespace(body)

    def store(self, body: Any) -> None:
        name = body["metadata"]["name"]
        with self._call(f"create ConfigMap '{name}'", ok=(409,)):
            self.core.create_namespaced_config_map(body["metadata"]["namespace"], body)

    def create_bundle(self, body: dict[str, Any]) -> None:
        with self._call(f"create Bundle '{body['metadata']['name']}'"):
            self.custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)

    def _floor_object(self, namespace: str) -> Any:
        found: Any = None
        with self._call(f"read ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'", ok=(404,)):
            found = self.core.read_namespaced_config_map(TRUST_FLOOR_CONFIGMAP, namespace)
        return found

    def floor(self, namespace: str) -> Floor | None:
        """The trust floor the cluster keeps (None before the first bundle)."""
        found = self._floor_object(namespace)
        return floor_from_data(found.data) if found is not None else None

    def raise_floor(self, namespace: str, keyring: Keyring) -> None:
        """Record `keyring` as the newest verified; refused (409) if someone changed it since."""
        found = self._floor_object(namespace)
        floor = floor_from_data(found.data) if found is not None else None
        check_floor(keyring, floor)
        new = raised(floor, keyring)
        if new is None:
            return
        meta: dict[str, Any] = {"name": TRUST_FLOOR_CONFIGMAP, "namespace": namespace,
                                "labels": {"app.kubernetes.io/part-of": "outpost"}}  # fmt: skip
        body: Any = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                     "data": floor_to_data(new)}  # fmt: skip
        with self._call(f"write ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'"):
            if found is None:
                self.core.create_namespaced_config_map(namespace, body)
            else:
                meta["resourceVersion"] = found.metadata.resource_version
                self.core.replace_namespaced_config_map(TRUST_FLOOR_CONFIGMAP, namespace, body)


Progress = Callable[[int], None] | None


class AlreadyImported(Exception):
    """Raised by `Admission` to stop reading: the cluster holds this very manifest already."""


class Admission:
    """The checks `verify_bundle` runs once the manifest verified, before content is read."""

    def __init__(
        self,
        request: ApplyRequest,
        bundles: list[dict[str, Any]],
        head: Head,
        now: datetime,
        floor: Floor | None = None,
    ) -> None:
        self.request, self.bundles, self.head, self.now = request, bundles, head, now
        self.floor = floor
        self.decision = ""

    def __call__(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
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
        last = in_force(mine)
        permit = None
        if self.request.permit is not None:
            permit = verify_permit(self.request.permit, keyring, self.now)
        return decide(candidate, last.to_applied() if last else None, permit).value


def _same_name(same: Imported, candidate: VerifiedManifest) -> str:
    if same.manifest_digest == candidate.digest:
        return ALREADY
    raise RollbackError(
        f"rollback check failed: Bundle '{same.name}' already holds sequence"
        f" {same.sequence} with a different manifest; the vendor must publish a new sequence"
    )


def apply_bundle(
    request: ApplyRequest, cluster: Cluster, now: datetime, progress: Progress = None
) -> Plan:
    """Verify, check, store and create the Bundle (or only plan it with `dry_run`)."""
    bundles = cluster.bundles()
    head = read_head(request.path)
    admission = Admission(request, bundles, head, now, cluster.floor(request.namespace))
    tmp = Path(tempfile.mkdtemp(prefix="outpost-apply-"))
    staging = None if request.dry_run else tmp / "content"
    try:
        try:
            verified = verify_bundle(
                request.path, request.trust_root, now, staging=staging, progress=progress,
                admit=admission,
            )  # fmt: skip
        except AlreadyImported as done:
            return _noop(str(done), head, request.namespace)
        plan = _plan(verified, admission.decision, cluster, request)
        if not request.dry_run:
            _write(cluster, plan, verified, tmp / "content", request)
        return plan
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _plan(verified: Verified, decision: str, cluster: Cluster, req: ApplyRequest) -> Plan:
    m = verified.manifest
    store, stored = split_stored(needed(m), cluster.stored(req.namespace))
    notes = [f"{len(m.images)} images were not pushed (--skip-images)"] if m.images else []
    return Plan(
        bundle_name(m.product, m.channel, m.sequence), m.product, m.channel, m.sequence,
        verified.verified.digest, decision, req.namespace, store, stored, tuple(notes),
    )  # fmt: skip


def _noop(name: str, head: Head, namespace: str) -> Plan:
    m = from_payload(dsse.parse(head.manifest, "manifest").payload)
    digest = hashlib.sha256(dsse.parse(head.manifest).payload).hexdigest()
    return Plan(name, m.product, m.channel, m.sequence, digest, ALREADY, namespace)


def _write(
    cluster: Cluster, plan: Plan, verified: Verified, staging: Path, req: ApplyRequest
) -> None:
    cluster.ensure_namespace(req.namespace)

    def store(path: str) -> None:
        entry = verified.manifest.file(path)
        data = _read(staging / path)
        cluster.store(configmap(entry, data, req.namespace))

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(store, [f.path for f in plan.store]))
    body = bundle_object(
        verified.verified, verified.chain, verified.manifest_envelope, req.namespace, req.permit
    )
    cluster.create_bundle(body)
    cluster.raise_floor(req.namespace, verified.keyring)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read staged file '{path}': {exc.strerror}") from exc
