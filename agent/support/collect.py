"""What a support bundle holds, read from the cluster (I/O) and redacted before it is kept.

Reads only. Secret *data* is never requested: Helm's release records (Secrets) are listed as
metadata only (`PartialObjectMetadataList`), and no other Secret is read, except the install's
own identity key, which signs the archive and is never written into it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from agent.core.bundle import installed_bundle
from agent.errors import KubeError, NotFoundError
from agent.kube.client import Kube, KubeObject
from agent.support.redact import Redactor
from facts import rfc3339
from facts.api import API_VERSION

OUTPOST_KINDS = ("DataPlane", "Tenant", "Application", "Bundle", "License", "Preflight",
                 "SupportBundleRequest")  # fmt: skip
WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                  ("apps/v1", "DaemonSet"), ("v1", "Pod"))  # fmt: skip
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
NAMESPACE_LABELS = ("outpost.dev/tenant", "outpost.dev/application")
PATTERNS_CONFIGMAP = "outpost-support"  # chart value supportBundle.redactPatterns
REPORT = "redactions.json"


@dataclass(frozen=True)
class Scope:
    """What to collect: the agent's namespace, extra namespaces, how far back, a local log."""

    agent_namespace: str
    namespaces: Sequence[str] = ()
    since: timedelta = timedelta(hours=24)
    agent_log: Path | None = None
    metrics_url: str = ""
    patterns: Sequence[str] = ()


@dataclass
class Collected:
    """Members (name → bytes), already redacted, and the redactor that did it."""

    redactor: Redactor
    members: dict[str, bytes] = field(default_factory=dict)

    def json(self, name: str, value: Any) -> None:
        """Keep a redacted JSON member."""
        clean = self.redactor.value(name, value)
        self.members[name] = json.dumps(clean, indent=1, sort_keys=True).encode() + b"\n"

    def text(self, name: str, text: str) -> None:
        """Keep a redacted text member."""
        self.members[name] = self.redactor.text(name, text).encode()


async def collect(kube: Kube, scope: Scope, now: datetime) -> Collected:
    """Every member of the bundle; see the module docstring for what is never read."""
    patterns = [*scope.patterns, *await _configured_patterns(kube, scope.agent_namespace)]
    out = Collected(Redactor.with_patterns(patterns))
    objects = await _outpost_objects(kube, out)
    namespaces = await _namespaces(kube, scope)
    await _events(kube, out, namespaces, now - scope.since)
    for namespace in namespaces:
        await _namespace_members(kube, out, namespace)
    out.json("helm/releases.json", await _helm_releases(kube, namespaces))
    out.json("nodes.json", await _nodes(kube))
    out.json("summary.json", _summary(objects, namespaces, scope, now))
    await _agent_logs(kube, out, scope)
    _metrics(out, scope)
    return out


def add_report(collected: Collected) -> None:
    """Add the redaction report: what was redacted, where and by which rule, never the value."""
    findings = [f.to_dict() for f in collected.redactor.findings]
    doc = {"note": "what was redacted, where and by which rule; never the value",
           "neverCollected": ["Secret data (Helm releases are listed from metadata only)"],
           "redactions": findings}  # fmt: skip
    collected.members[REPORT] = json.dumps(doc, indent=1).encode() + b"\n"


async def _configured_patterns(kube: Kube, namespace: str) -> list[str]:
    found: list[str] = []
    for plane in await _list(kube, API_VERSION, "DataPlane"):
        found += list(((plane.get("spec") or {}).get("supportBundle") or {}).get(
            "redactPatterns") or ())  # fmt: skip
    config = await kube.get("v1", "ConfigMap", PATTERNS_CONFIGMAP, namespace)
    text = ((config or {}).get("data") or {}).get("redactPatterns", "")
    return found + [line for line in text.splitlines() if line.strip()]


async def _list(kube: Kube, api_version: str, kind: str, namespace: str | None = None,
                labels: str = "") -> list[KubeObject]:  # fmt: skip
    try:
        return [_trim(o) for o in await kube.list_objects(api_version, kind, namespace, labels)]
    except (NotFoundError, KubeError):
        return []  # a kind this cluster does not serve (e.g. License before its CRD)


def _trim(obj: KubeObject) -> KubeObject:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


async def _outpost_objects(kube: Kube, out: Collected) -> dict[str, list[KubeObject]]:
    found = {kind: await _list(kube, API_VERSION, kind) for kind in OUTPOST_KINDS}
    for kind, items in found.items():
        if items:
            out.json(f"objects/{kind.lower()}s.json", items)
    return found


async def _namespaces(kube: Kube, scope: Scope) -> list[str]:
    names = {scope.agent_namespace, *scope.namespaces}
    if not scope.namespaces:
        for label in NAMESPACE_LABELS:
            names |= {o["metadata"]["name"] for o in await _list(kube, "v1", "Namespace", None,
                                                                   label)}  # fmt: skip
    return sorted(names)


async def _events(kube: Kube, out: Collected, namespaces: Iterable[str], after: datetime) -> None:
    events = []
    for namespace in namespaces:
        for event in await _list(kube, "v1", "Event", namespace):
            when = rfc3339.parse_time(
                event.get("lastTimestamp")
                or event.get("eventTime")
                or (event.get("metadata") or {}).get("creationTimestamp")
            )
            if when is None or when >= after:
                events.append(event)
    out.json("events.json", events)


async def _namespace_members(kube: Kube, out: Collected, namespace: str) -> None:
    configmaps = await _list(kube, "v1", "ConfigMap", namespace)
    out.json(f"namespaces/{namespace}/configmaps.json", configmaps)
    workloads = [o for api, kind in WORKLOAD_KINDS for o in await _list(kube, api, kind, namespace)]
    out.json(f"namespaces/{namespace}/workloads.json", workloads)


async def _helm_releases(kube: Kube, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """Release history from the release Secrets' labels: metadata only, never the values."""
    releases = []
    for namespace in namespaces:
        try:
            raw = await kube.get_text(f"/api/v1/namespaces/{namespace}/secrets",
                                      {"labelSelector": "owner=helm"}, METADATA_LIST)  # fmt: skip
        except KubeError:
            continue
        for item in json.loads(raw).get("items") or ():
            labels = (item.get("metadata") or {}).get("labels") or {}
            releases.append({"namespace": namespace, **{k: labels.get(k, "") for k in
                             ("name", "version", "status", "modifiedAt")}})  # fmt: skip
    return releases


async def _nodes(kube: Kube) -> list[dict[str, Any]]:
    nodes = []
    for node in await _list(kube, "v1", "Node"):
        status = node.get("status") or {}
        nodes.append({"name": node["metadata"]["name"], "capacity": status.get("capacity"),
                      "allocatable": status.get("allocatable"),
                      "conditions": status.get("conditions"),
                      "nodeInfo": status.get("nodeInfo")})  # fmt: skip
    return nodes


def _summary(objects: dict[str, list[KubeObject]], namespaces: list[str], scope: Scope,
             now: datetime) -> dict[str, Any]:  # fmt: skip
    return {
        "collected": rfc3339.format_time(now),
        "since": rfc3339.format_time(now - scope.since),
        "namespaces": namespaces,
        "bundleInForce": installed_bundle(list(objects.get("Bundle", []))) or None,
        "licenses": [o["metadata"]["name"] for o in objects.get("License", [])],
        "counts": {kind: len(items) for kind, items in objects.items()},
    }


async def _agent_logs(kube: Kube, out: Collected, scope: Scope) -> None:
    if scope.agent_log is not None:
        try:
            out.text("logs/agent.log", scope.agent_log.read_text(errors="replace"))
        except OSError as exc:
            out.text("logs/agent.log", f"(cannot read {scope.agent_log}: {exc.strerror})\n")
        return
    pods = await _list(kube, "v1", "Pod", scope.agent_namespace,
                       "app.kubernetes.io/name=outpost-agent")  # fmt: skip
    for pod in pods:
        name = pod["metadata"]["name"]
        path = f"/api/v1/namespaces/{scope.agent_namespace}/pods/{name}/log"
        params = {"sinceSeconds": str(int(scope.since.total_seconds()))}
        try:
            out.text(f"logs/{name}.log", await kube.get_text(path, params))
        except KubeError as exc:
            out.text(f"logs/{name}.log", f"(no log: {exc})\n")


def _metrics(out: Collected, scope: Scope) -> None:
    """The agent's own /metrics (given by URL: the agent may run beside the cluster)."""
    if not scope.metrics_url:
        return
    try:
        out.text("metrics.txt", httpx.get(scope.metrics_url, timeout=5.0).text)
    except httpx.HTTPError as exc:  # best effort: the rest of the bundle still helps
        out.text("metrics.txt", f"(cannot read {scope.metrics_url}: {exc})\n")
