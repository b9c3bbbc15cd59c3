"""Raw Kubernetes objects as typed dictionaries, for objects that cross a package boundary.

Pure. The shapes are the API server's JSON (`metadata` as ObjectMeta, free-form `spec` and
`status`); every key is optional because a partial object (a list item, a patch, an object about
to be created) is still an object. Functions that only read take `Mapping[str, Any]`, which a
`KubeObject` satisfies; functions that build objects for another package return a `KubeObject`.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ObjectMeta(TypedDict, total=False):
    """`metadata` of any object (the fields Outpost reads or writes)."""

    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    finalizers: list[str]
    ownerReferences: list[dict[str, Any]]


class KubeObject(TypedDict, total=False):
    """One Kubernetes object as the API server serves it as JSON."""

    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: dict[str, Any]
    data: dict[str, str]
    binaryData: dict[str, str]
    immutable: bool


class ObjectList(TypedDict, total=False):
    """A LIST response: `items` and the list's `metadata` (resourceVersion, continue)."""

    apiVersion: str
    kind: str
    metadata: dict[str, Any]
    items: list[KubeObject]


BUILTIN_CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
        "CustomResourceDefinition", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass",
        "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CSIDriver", "CSINode",
        "VolumeSnapshotClass",
    }
)  # fmt: skip
"""Kubernetes' own kinds that have no namespace (the bundle scan and the agent share this list)."""
