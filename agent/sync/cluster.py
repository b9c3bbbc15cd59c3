"""The cluster side of status sync: stores and snapshot gathering over the Kubernetes API.

I/O shell (official `kubernetes` client, sync API). `KubeStores` keeps the agent key and sync state
in the Secret `outpost-agent-identity` and the bounded spool in the ConfigMap
`outpost-agent-spool`, both in the agent's namespace. `KubeGatherer` lists DataPlane, Tenant,
Application and Bundle objects and pod requests per tenant namespace, and hands raw objects to the
pure allowlist in `agent.sync.snapshot`. It reads Secrets only for the agent's own identity.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.utils import parse_quantity

from agent.errors import ConfigError, KubeError, NotFoundError
from agent.sync.snapshot import ClusterSnapshot, PodRequests, snapshot_from_objects
from agent.sync.state import SyncState, key_from_pem, key_to_pem
from facts.api import GROUP, VERSION

IDENTITY_SECRET = "outpost-agent-identity"
SPOOL_CONFIGMAP = "outpost-agent-spool"
TENANT_LABEL = "outpost.dev/tenant"

PLURALS = {"DataPlane": "dataplanes", "Tenant": "tenants", "Application": "applications",
           "Bundle": "bundles"}  # fmt: skip
PAGE_SIZE = 500
REQUEST_TIMEOUT = (5, 30)

# The client's config loaders and quantity parser are untyped; they are used only here.
load_kube_config: Any = config.load_kube_config
load_incluster_config: Any = config.load_incluster_config
quantity: Any = parse_quantity


def kube_error(exc: ApiException, what: str) -> KubeError:
    kind = NotFoundError if exc.status == 404 else KubeError
    return kind(f"{what}: the API server answered {exc.status} {exc.reason}", int(exc.status or 0))


def api_client(kubeconfig: str | None) -> Any:
    """An ApiClient of its own (no global configuration): kubeconfig, else in-cluster."""
    cfg = client.Configuration()
    try:
        if kubeconfig is None:
            try:
                load_incluster_config(client_configuration=cfg)
            except ConfigException:
                load_kube_config(client_configuration=cfg, persist_config=False)
        else:
            load_kube_config(kubeconfig, client_configuration=cfg, persist_config=False)
    except (ConfigException, OSError) as exc:
        raise ConfigError(f"no usable cluster credentials ({exc}); pass --kubeconfig") from exc
    return client.ApiClient(cfg)


class KubeStores:
    """`KeyStore`, `StateStore` and `SpoolStore` over one Secret and one ConfigMap."""

    def __init__(self, api: Any, namespace: str) -> None:
        self.core: Any = client.CoreV1Api(api)
        self.namespace = namespace

    def secret_data(self) -> dict[str, str]:
        try:
            secret = self.core.read_namespaced_secret(
                IDENTITY_SECRET, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise kube_error(exc, f"reading Secret '{self.namespace}/{IDENTITY_SECRET}'") from exc
        raw = secret.data or {}
        return {k: base64.b64decode(v).decode() for k, v in raw.items()}

    def write(self, kind: str, name: str, data: dict[str, str]) -> None:
        """Merge `data` into the object, creating it on first write."""
        meta = client.V1ObjectMeta(name=name, labels={"app.kubernetes.io/part-of": "outpost"})
        if kind == "Secret":
            encoded: dict[str, bytes | str] = {
                k: base64.b64encode(v.encode()).decode() for k, v in data.items()
            }
            body: Any = client.V1Secret(metadata=meta, data=encoded)
            patch, create = self.core.patch_namespaced_secret, self.core.create_namespaced_secret
        else:
            body = client.V1ConfigMap(metadata=meta, data=data)
            patch = self.core.patch_namespaced_config_map
            create = self.core.create_namespaced_config_map
        try:
            try:
                patch(name, self.namespace, body, _request_timeout=REQUEST_TIMEOUT)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                create(self.namespace, body, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            raise kube_error(exc, f"writing {kind} '{self.namespace}/{name}'") from exc

    def load_key(self) -> Ed25519PrivateKey | None:
        pem = self.secret_data().get("key.pem")
        where = f"Secret '{self.namespace}/{IDENTITY_SECRET}' key 'key.pem'"
        return key_from_pem(pem.encode(), where) if pem else None

    def save_key(self, key: Ed25519PrivateKey) -> None:
        self.write("Secret", IDENTITY_SECRET, {"key.pem": key_to_pem(key).decode()})

    def load_state(self) -> SyncState | None:
        text = self.secret_data().get("state.json")
        return SyncState.from_dict(json.loads(text)) if text else None

    def save_state(self, state: SyncState) -> None:
        self.write("Secret", IDENTITY_SECRET, {"state.json": json.dumps(state.to_dict())})

    def load_spool(self) -> tuple[bytes, ...]:
        try:
            cm = self.core.read_namespaced_config_map(
                SPOOL_CONFIGMAP, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return ()
            raise kube_error(
                exc, f"reading ConfigMap '{self.namespace}/{SPOOL_CONFIGMAP}'"
            ) from exc
        text = (cm.data or {}).get("spool.jsonl", "")
        return tuple(line.encode() for line in text.splitlines() if line.strip())

    def save_spool(self, envelopes: Sequence[bytes]) -> None:
        text = "".join(e.decode() + "\n" for e in envelopes)
        self.write("ConfigMap", SPOOL_CONFIGMAP, {"spool.jsonl": text})


class KubeGatherer:
    """Lists what a report may mention; the allowlist itself is in `agent.sync.snapshot`."""

    def __init__(self, api: Any, include_owners: bool = False) -> None:
        self.core: Any = client.CoreV1Api(api)
        self.custom: Any = client.CustomObjectsApi(api)
        self.include_owners = include_owners

    def __call__(self) -> ClusterSnapshot:
        try:
            uid = self.core.read_namespace("kube-system", _request_timeout=REQUEST_TIMEOUT)
            objects = {kind: self.custom_objects(plural) for kind, plural in PLURALS.items()}
            pods = list(self.pod_requests())
        except ApiException as exc:
            raise kube_error(exc, "gathering the status snapshot") from exc
        return snapshot_from_objects(uid.metadata.uid, objects, pods, self.include_owners)

    def custom_objects(self, plural: str) -> list[dict[str, Any]]:
        try:
            found = self.custom.list_cluster_custom_object(
                GROUP, VERSION, plural, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:  # CRD not installed yet: nothing to report
                return []
            raise
        return list(found.get("items", []))

    def tenant_namespaces(self) -> dict[str, str]:
        found = self.core.list_namespace(
            label_selector=TENANT_LABEL, _request_timeout=REQUEST_TIMEOUT
        )
        return {ns.metadata.name: ns.metadata.labels[TENANT_LABEL] for ns in found.items}

    def pod_requests(self) -> Iterator[PodRequests]:
        # Per tenant namespace: the agent may read pods only where it manages a tenant.
        for namespace, tenant in sorted(self.tenant_namespaces().items()):
            token = None
            while True:
                page = self.core.list_namespaced_pod(
                    namespace, field_selector="status.phase!=Succeeded,status.phase!=Failed",
                    limit=PAGE_SIZE, _continue=token, _request_timeout=REQUEST_TIMEOUT,
                )  # fmt: skip
                yield from (requests_of(tenant, pod) for pod in page.items)
                token = page.metadata._continue
                if not token:
                    break


def requests_of(tenant: str, pod: Any) -> PodRequests:
    cpu = memory = 0
    for container in pod.spec.containers or []:
        requests = (container.resources.requests if container.resources else None) or {}
        cpu += int(quantity(requests.get("cpu", "0")) * 1000)
        memory += int(quantity(requests.get("memory", "0")))
    return PodRequests(tenant, cpu, memory)


def open_stores(
    kubeconfig: str | None, namespace: str, include_owners: bool = False
) -> tuple[KubeStores, KubeGatherer]:
    """The Kubernetes-backed stores and gatherer for the `outpost status` commands."""
    api = api_client(kubeconfig)
    return KubeStores(api, namespace), KubeGatherer(api, include_owners)
