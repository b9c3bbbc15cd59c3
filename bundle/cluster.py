"""The Kubernetes calls of the cluster handoff (I/O shell), with errors translated to BundleError.

The official `kubernetes` sync client (kubeconfig) runs on the workstation of whoever runs
`outpost bundle apply` or `outpost airgap import`; the agent never imports this module. What the
calls are used for, and in which order, is `bundle.handoff`'s business.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from bundle.errors import BundleError
from bundle.importplan import (
    CONTENT_LABEL,
)
from bundle.keyring import Keyring
from bundle.preflight import ClusterFacts, quantity
from bundle.trustfloor import Floor, check_floor, floor_from_data, floor_to_data, raised
from facts.api import BUNDLE, GROUP, LICENSE, TRUST_FLOOR_CONFIGMAP, VERSION
from facts.objects import KubeObject

PLURAL = BUNDLE.plural
FLOOR_ATTEMPTS = 5
WORKERS = 8
ALREADY = "already-imported"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


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
        self.api = api
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

    def bundles(self) -> list[KubeObject]:
        """Every Bundle in the cluster."""
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
        """Create the agent namespace (one that exists is fine)."""
        body: Any = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        with self._call(f"create namespace '{namespace}'", ok=(409,)):
            self.core.create_namespace(body)

    def store(self, body: KubeObject) -> None:
        """Create one content ConfigMap (one that exists is fine: content is immutable)."""
        name = body["metadata"]["name"]
        with self._call(f"create ConfigMap '{name}'", ok=(409,)):
            raw: Any = body  # the client takes plain JSON-shaped dicts as bodies
            self.core.create_namespaced_config_map(body["metadata"]["namespace"], raw)

    def create_bundle(self, body: KubeObject) -> None:
        """Create the Bundle object, the last step of a handoff."""
        with self._call(f"create Bundle '{body['metadata']['name']}'"):
            self.custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, dict(body))

    def _floor_object(self, namespace: str) -> Any:
        found: Any = None
        with self._call(f"read ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'", ok=(404,)):
            found = self.core.read_namespaced_config_map(TRUST_FLOOR_CONFIGMAP, namespace)
        return found

    def floor(self, namespace: str) -> Floor | None:
        """The trust floor the cluster keeps (None before the first bundle)."""
        found = self._floor_object(namespace)
        return floor_from_data(found.data) if found is not None else None

    def floor_data(self, namespace: str) -> dict[str, str]:
        """Everything the trust-floor ConfigMap remembers (floor and applied sequences)."""
        found = self._floor_object(namespace)
        return dict(found.data or {}) if found is not None else {}

    def remember(self, namespace: str, data: dict[str, str]) -> None:
        """Merge `data` into the trust-floor ConfigMap (created when missing)."""
        meta: dict[str, Any] = {"name": TRUST_FLOOR_CONFIGMAP, "namespace": namespace,
                                "labels": {"app.kubernetes.io/part-of": "outpost"}}  # fmt: skip
        body: Any = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
        if self._floor_object(namespace) is None:
            with self._call(f"create ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'"):
                self.core.create_namespaced_config_map(namespace, body)
            return
        with self._call(f"write ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'"):
            self.core.patch_namespaced_config_map(TRUST_FLOOR_CONFIGMAP, namespace, {"data": data})

    def raise_floor(self, namespace: str, keyring: Keyring) -> None:
        """Record `keyring` as the newest verified, reading again when the agent wrote first."""
        for _ in range(FLOOR_ATTEMPTS):
            if self._try_raise_floor(namespace, keyring):
                return
        raise BundleError(
            f"cannot write ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}': it kept changing"
            " under us (HTTP 409); run the command again"
        )

    def _try_raise_floor(self, namespace: str, keyring: Keyring) -> bool:
        found = self._floor_object(namespace)
        floor = floor_from_data(found.data) if found is not None else None
        check_floor(keyring, floor)
        new = raised(floor, keyring)
        if new is None:
            return True
        meta: dict[str, Any] = {"name": TRUST_FLOOR_CONFIGMAP, "namespace": namespace,
                                "labels": {"app.kubernetes.io/part-of": "outpost"}}  # fmt: skip
        # Other keys (the licence memory, applied sequences) stay: a replace would drop them.
        data = {**((found.data or {}) if found is not None else {}), **floor_to_data(new)}
        body: Any = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
        written = False
        # 409: created or changed since we read it (the resourceVersion guards a replace).
        with self._call(f"write ConfigMap '{namespace}/{TRUST_FLOOR_CONFIGMAP}'", ok=(409,)):
            if found is None:
                self.core.create_namespaced_config_map(namespace, body)
            else:
                meta["resourceVersion"] = found.metadata.resource_version
                self.core.replace_namespaced_config_map(TRUST_FLOOR_CONFIGMAP, namespace, body)
            written = True
        return written

    def licenses(self) -> list[KubeObject]:
        """Every License object in the cluster."""
        found: Any = {}
        with self._call("list Licenses (are the Outpost CRDs installed?)"):
            found = self.custom.list_cluster_custom_object(GROUP, VERSION, LICENSE.plural)
        return list(found.get("items", []))

    def put_license(self, body: KubeObject) -> str:
        """Create the License object, or replace the one of that name; "created" or "replaced"."""
        name = body["metadata"]["name"]
        existing = {o["metadata"]["name"]: o for o in self.licenses()}
        with self._call(f"write License '{name}'"):
            if name not in existing:
                created: Any = body
                self.custom.create_cluster_custom_object(GROUP, VERSION, LICENSE.plural, created)
                return "created"
            version = existing[name]["metadata"]["resourceVersion"]
            replaced: Any = {**body, "metadata": {**body["metadata"], "resourceVersion": version}}
            self.custom.replace_cluster_custom_object(
                GROUP, VERSION, LICENSE.plural, name, replaced
            )
        return "replaced"

    def preflight_facts(self, resources: list[str]) -> ClusterFacts:
        """What preflight checks are decided on: version, nodes, storage classes, CRDs, and
        which of `resources` (group/version/Kind) discovery lists."""
        from kubernetes import client

        # Any: the client's generated models type every field Optional.
        nodes: Any = []
        classes: Any = []
        crds: Any = []
        version = ""
        with self._call("read the cluster for preflight checks"):
            nodes = self.core.list_node().items
            classes = client.StorageV1Api(self.api).list_storage_class().items
            crds = client.ApiextensionsV1Api(self.api).list_custom_resource_definition().items
            version = str(client.VersionApi(self.api).get_code().git_version)
        nodes, classes, crds = cast(Any, nodes), cast(Any, classes), cast(Any, crds)
        allocatable = [n.status.allocatable or {} for n in nodes]
        return ClusterFacts(
            version=version,
            nodes=len(nodes),
            cpu=sum(quantity(a.get("cpu", 0)) for a in allocatable),
            memory=sum(quantity(a.get("memory", 0)) for a in allocatable),
            storage_classes={
                c.metadata.name: (c.metadata.annotations or {}).get(DEFAULT_CLASS) == "true"
                for c in classes
            },
            api_resources=frozenset(self._served(resources)),
            crds=frozenset(c.metadata.name for c in crds),
        )

    def _served(self, wanted: list[str]) -> set[str]:
        served: set[str] = set()
        for group_version in sorted({w.rsplit("/", 1)[0] for w in wanted if "/" in w}):
            path = f"/api/{group_version}" if group_version == "v1" else f"/apis/{group_version}"
            doc: Any = None
            with self._call(f"read discovery {path}", ok=(404,)):
                doc = self.api.call_api(
                    path, "GET", auth_settings=["BearerToken"], response_type="object",
                    _return_http_data_only=True,
                )  # fmt: skip
            kinds = (doc or {}).get("resources") or ()
            served |= {f"{group_version}/{r.get('kind')}" for r in kinds}
        return served

    def content_bytes(self, ref: dict[str, Any]) -> bytes:
        """One stored content file's bytes from its ConfigMap (checked by the caller)."""
        import base64

        name, namespace = str(ref.get("name")), str(ref.get("namespace"))
        key = str(ref.get("key", "content"))
        found: Any = None
        with self._call(f"read ConfigMap '{namespace}/{name}'"):
            found = self.core.read_namespaced_config_map(name, namespace)
        if key in (found.binary_data or {}):
            return base64.b64decode(found.binary_data[key])
        if key in (found.data or {}):
            return str(found.data[key]).encode()
        raise BundleError(f"content check failed: ConfigMap '{namespace}/{name}' has no '{key}'")
