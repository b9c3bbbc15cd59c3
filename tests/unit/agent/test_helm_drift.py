"""Helm applications held to their desired state (pure decisions; issue 11, findings 1, 5, 6, 8).

A deployed release whose objects were deleted or edited by hand gets them put back as Helm would
(its field manager, its ownership metadata); an HPA's replicas are left alone; a chart fixed
under the same name and version is a new revision; Helm's own error stays in the condition; a
deleting app does not wait for objects a chart marks `keep`.
"""

from __future__ import annotations

import copy
from typing import Any

from agent import api
from agent.core.application.decide import ApplicationObservation, HelmRelease, decide_application
from agent.core.application.drift import HELM_MANAGER, desired_objects, kept
from agent.core.application.spec import AppSpec, inventory, revision
from agent.core.decision import Decision, failure_status
from agent.core.objects import ObjectRef, ref_of
from agent.reconcilers.application import first_lines
from tests.unit.agent.appkit import DEPLOY, helm_app, ready_tenant
from tests.unit.agent.test_decide_app import NOW, deleting, live_of, types, with_status

HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "api", "namespace": "a1"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
             "minReplicas": 2, "maxReplicas": 5},
}  # fmt: skip
KEEP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "data", "namespace": "a1",
                 "annotations": {"helm.sh/resource-policy": "keep"}},
    "data": {"a": "b"},
}  # fmt: skip


def release_objects(*extra: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    deploy = copy.deepcopy(DEPLOY) | {"metadata": {"name": "api", "namespace": "a1"}}
    return (deploy, *copy.deepcopy(extra))


def deployed(obj: dict[str, Any], objects: tuple[Any, ...], live: Any, digest: str = "") -> Any:
    rev = revision(AppSpec.from_object(obj), "a1", digest)
    obs = ApplicationObservation(
        obj,
        ready_tenant(),
        None,
        live,
        HelmRelease("deployed", 2, rev),
        objects,
        chart_digest=digest,
    )
    return decide_application(obs, NOW)


def as_helm_made(objects: tuple[Any, ...]) -> dict[ObjectRef, Any]:
    return live_of(tuple(desired_objects(list(objects), "web", "a1")))


def test_a_deleted_deployment_is_put_back_as_helm_made_it() -> None:
    objects = release_objects(HPA)
    live = as_helm_made(objects)
    del live[ref_of(objects[0])]
    decision: Decision = deployed(helm_app(), objects, live)
    assert decision.helm is None  # no upgrade: an apply of the rendered object
    (put,) = decision.repair
    assert (put["kind"], put["metadata"]["name"]) == ("Deployment", "api")
    assert put["metadata"]["annotations"]["meta.helm.sh/release-name"] == "web"
    assert put["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == "a1"
    assert put["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert "replicas" not in put["spec"]  # the HPA owns it
    assert HELM_MANAGER == "helm"
    assert types(decision)["Reconciling"] == ("True", "Progressing")
    assert [e.reason for e in decision.events if e.reason == "DriftRepaired"] == ["DriftRepaired"]


def test_a_hand_edit_is_reverted_but_hpa_replicas_are_not_fought() -> None:
    objects = release_objects(HPA)
    live = as_helm_made(objects)
    deploy = live[ref_of(objects[0])]
    deploy["spec"]["replicas"] = 5  # the HPA scaled it
    assert deployed(helm_app(), objects, live).repair == ()
    deploy["spec"]["template"]["spec"]["containers"][0]["image"] = "evil"
    (put,) = deployed(helm_app(), objects, live).repair
    assert put["spec"]["template"]["spec"]["containers"][0]["image"] == "i"


def test_without_an_hpa_replicas_are_desired_state() -> None:
    objects = release_objects()
    live = as_helm_made(objects)
    live[ref_of(objects[0])]["spec"]["replicas"] = 7
    (put,) = deployed(helm_app(), objects, live).repair
    assert put["spec"]["replicas"] == 1


def test_in_sync_release_repairs_nothing_and_is_ready() -> None:
    objects = release_objects(HPA, KEEP)
    decision = deployed(helm_app(), objects, as_helm_made(objects))
    assert decision.repair == ()
    assert types(decision)["Ready"] == ("True", "Reconciled")


def test_a_fixed_chart_of_the_same_version_is_a_new_revision_and_is_installed() -> None:
    obj = helm_app()
    spec = AppSpec.from_object(obj)
    assert revision(spec, "a1", "sha256:aa") != revision(spec, "a1", "sha256:bb")
    assert revision(spec, "a1") == revision(spec, "a1", "")  # unchanged without a digest
    old = revision(spec, "a1", "sha256:aa")
    failed = failure_status(obj, api.Reason.HELM_RELEASE_FAILED, "boom", NOW,
                            fields={"lastAttemptedRevision": old})  # fmt: skip
    tried = with_status(obj, failed)
    objects = release_objects()
    obs = ApplicationObservation(
        tried,
        ready_tenant(),
        None,
        {},
        HelmRelease("failed", 2, ""),
        objects,
        chart_digest="sha256:aa",
    )
    assert decide_application(obs, NOW).helm is None  # the same broken chart: stalled
    fixed = ApplicationObservation(
        tried,
        ready_tenant(),
        None,
        {},
        HelmRelease("failed", 2, ""),
        objects,
        chart_digest="sha256:bb",
    )
    action = decide_application(fixed, NOW).helm
    assert action is not None
    assert action.revision == revision(spec, "a1", "sha256:bb")


def test_helms_error_stays_in_the_condition_on_later_visits() -> None:
    obj = helm_app()
    rev = revision(AppSpec.from_object(obj), "a1")
    said = 'helm said: Error: UPGRADE FAILED: no matches for kind "Kustomization"'
    failed = failure_status(obj, api.Reason.HELM_RELEASE_FAILED, f"upgrade failed. {said}", NOW,
                            fields={"lastAttemptedRevision": rev})  # fmt: skip
    tried = with_status(obj, failed)
    for release in (HelmRelease("failed", 4, ""), None):
        obs = ApplicationObservation(tried, ready_tenant(), None, {}, release, release_objects())
        decision = decide_application(obs, NOW)
        ready = next(c for c in decision.conditions if c.type == "Ready")
        assert ready.reason == api.Reason.HELM_RELEASE_FAILED
        assert said in ready.message


def test_first_lines_start_at_helms_error_and_stay_short() -> None:
    stderr = "level=INFO msg=preparing\nlevel=INFO msg=x\nError: INSTALLATION FAILED: boom\n"
    stderr += "\n".join(f"detail {i}" for i in range(50))
    said = first_lines(stderr)
    assert said.startswith("Error: INSTALLATION FAILED: boom detail 0")
    assert "detail 3" not in said
    assert len(first_lines("x" * 5000)) == 600


def test_deletion_does_not_wait_for_objects_a_chart_keeps() -> None:
    objects = release_objects(KEEP)
    live = as_helm_made(objects)
    obj = helm_app()
    obj["status"] = {"inventory": [r.to_dict() for r in inventory(objects)], "namespace": "a1"}
    deleting(obj)
    del live[ref_of(objects[0])]  # helm uninstall removed the Deployment; the ConfigMap stays
    assert kept(next(iter(live.values())))
    obs = ApplicationObservation(obj, ready_tenant(), None, live, None, ())
    assert decide_application(obs, NOW).release_finalizer
