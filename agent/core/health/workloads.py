"""Per-kind kstatus health rules for built-in Kubernetes kinds (Deployment, Pod, Job, ...).

Pure: a raw object and a clock in, a Health out. `agent.health.assess` applies the generic rules
(deletion, observedGeneration, Reconciling/Stalled) first and then dispatches here through `RULES`.
Kinds not listed (ConfigMap, Secret, ServiceAccount, RBAC, NetworkPolicy, ...) are Current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from agent.core.conditions import parse_time
from agent.core.health.state import CURRENT, Health, HealthState, condition, is_true

Rule = Callable[[Mapping[str, Any], datetime], Health]
UNSCHEDULABLE_GRACE = timedelta(seconds=15)


def _progress(message: str) -> Health:
    return Health(HealthState.IN_PROGRESS, message)


def _counts(obj: Mapping[str, Any], *fields: str) -> list[int]:
    status = obj.get("status") or {}
    return [int(status.get(name) or 0) for name in fields]


def _replicas(obj: Mapping[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _first_short(want: int, checks: list[tuple[str, int]]) -> Health:
    for label, have in checks:
        if have < want:
            return _progress(f"{label}: {have}/{want}")
    return CURRENT


def deployment(obj: Mapping[str, Any], now: datetime) -> Health:
    """Failed past its progress deadline; in progress until updated, available and ready."""
    progressing = condition(obj, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(HealthState.FAILED, "progress deadline exceeded")
    want = _replicas(obj)
    total, updated, available, ready = _counts(
        obj, "replicas", "updatedReplicas", "availableReplicas", "readyReplicas"
    )
    if total > want:
        return _progress(f"pending termination: {total - want} old replicas")
    checks = [("updated", updated), ("available", available), ("ready", ready)]
    return _first_short(want, checks)


def statefulset(obj: Mapping[str, Any], now: datetime) -> Health:
    """Current when OnDelete, or when every replica is ready on the update revision."""
    spec = obj.get("spec") or {}
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return CURRENT
    want = _replicas(obj)
    ready, current, updated = _counts(obj, "readyReplicas", "currentReplicas", "updatedReplicas")
    partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition")
    if partition:
        return _first_short(want - int(partition), [("updated", updated)])
    short = _first_short(want, [("ready", ready), ("current", current)])
    status = obj.get("status") or {}
    if short is CURRENT and status.get("currentRevision") != status.get("updateRevision"):
        return _progress("waiting for the rolling update to finish")
    return short


def daemonset(obj: Mapping[str, Any], now: datetime) -> Health:
    """In progress until every node runs an updated, available pod."""
    if (obj.get("status") or {}).get("observedGeneration") is None:
        return _progress("the controller has not observed the DaemonSet yet")
    want, current, updated, available, ready = _counts(
        obj, "desiredNumberScheduled", "currentNumberScheduled", "updatedNumberScheduled",
        "numberAvailable", "numberReady",
    )  # fmt: skip
    checks = [("scheduled", current), ("updated", updated), ("available", available)]
    return _first_short(want, [*checks, ("ready", ready)])


def replicaset(obj: Mapping[str, Any], now: datetime) -> Health:
    """In progress while replicas fail to be created or are not ready."""
    if is_true(obj, "ReplicaFailure"):
        found = condition(obj, "ReplicaFailure") or {}
        return _progress("replica failure: " + str(found.get("message", "")))
    labeled, available, ready = _counts(
        obj, "fullyLabeledReplicas", "availableReplicas", "readyReplicas"
    )
    checks = [("labelled", labeled), ("available", available), ("ready", ready)]
    return _first_short(_replicas(obj), checks)


def job(obj: Mapping[str, Any], now: datetime) -> Health:
    """Current when Complete, Failed when Failed, in progress until then."""
    if is_true(obj, "Complete"):
        return CURRENT
    if is_true(obj, "Failed"):
        return Health(HealthState.FAILED, str((condition(obj, "Failed") or {}).get("message", "")))
    if not (obj.get("status") or {}).get("startTime"):
        return _progress("the Job has not started")
    (active,) = _counts(obj, "active")
    return _progress(f"running: {active} active")


def pod(obj: Mapping[str, Any], now: datetime) -> Health:
    """Current when running and Ready (or succeeded); Failed when unschedulable past the grace."""
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Succeeded" or (phase == "Running" and is_true(obj, "Ready")):
        return CURRENT
    if phase == "Failed":
        return Health(HealthState.FAILED, "the Pod failed")
    for status in (obj.get("status") or {}).get("containerStatuses") or ():
        if ((status.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
            return Health(HealthState.FAILED, f"container '{status.get('name')}' is crash-looping")
    scheduled = condition(obj, "PodScheduled") or {}
    if scheduled.get("reason") == "Unschedulable":
        since = parse_time(scheduled.get("lastTransitionTime"))
        if now - since > UNSCHEDULABLE_GRACE:
            return Health(HealthState.FAILED, "unschedulable: " + str(scheduled.get("message", "")))
    return _progress(f"phase {phase or 'Pending'}")


def pvc(obj: Mapping[str, Any], now: datetime) -> Health:
    """Current once Bound."""
    phase = (obj.get("status") or {}).get("phase")
    return CURRENT if phase == "Bound" else _progress(f"not bound (phase {phase or 'Pending'})")


def service(obj: Mapping[str, Any], now: datetime) -> Health:
    """In progress while a LoadBalancer has no address; Current otherwise."""
    spec = obj.get("spec") or {}
    if spec.get("type") == "LoadBalancer" and not spec.get("clusterIP"):
        return _progress("waiting for a cluster IP")
    return CURRENT


def crd(obj: Mapping[str, Any], now: datetime) -> Health:
    """Current once its names are accepted and it is Established."""
    names = condition(obj, "NamesAccepted") or {}
    if names.get("status") == "False":
        return Health(HealthState.FAILED, "names not accepted: " + str(names.get("message", "")))
    if is_true(obj, "Established"):
        return CURRENT
    return _progress("not established yet")


def namespace(obj: Mapping[str, Any], now: datetime) -> Health:
    """Terminating while being deleted; Current otherwise."""
    if (obj.get("status") or {}).get("phase") == "Terminating":
        return Health(HealthState.TERMINATING, "namespace is terminating")
    return CURRENT


RULES: dict[str, Rule] = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "ReplicaSet": replicaset,
    "Job": job,
    "Pod": pod,
    "PersistentVolumeClaim": pvc,
    "Service": service,
    "CustomResourceDefinition": crd,
    "Namespace": namespace,
}
