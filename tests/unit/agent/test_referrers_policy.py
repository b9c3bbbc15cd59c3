"""`spec.verify.requireReferrers`: an image without the named referrers is not deployed.

Aspects: container images are found in any pod spec (Deployment, CronJob, init containers);
the rule names the image and the missing artifact type, and refuses an image not pinned by
digest or whose registry could not be asked; a manifest Application so refused applies nothing
and says ReferrerMissing (Reconciling: it looks again); with every referrer present it deploys.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent import api
from agent.core.application.decide import ApplicationObservation, decide_application
from agent.core.application.referrers import ReferrerLookup, container_images, referrer_problem
from tests.unit.agent.appkit import DEPLOY, helm_app, manifest_app, ready_tenant

NOW = datetime(2026, 1, 2, tzinfo=UTC)
SIG = "application/vnd.dev.cosign.simplesigning.v1+json"
IMAGE = "reg:5000/acme/api@sha256:" + "a" * 64
CRON = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "nightly"},
    "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "initContainers": [{"name": "init", "image": "reg/init@sha256:" + "b" * 64}],
        "containers": [{"name": "c", "image": IMAGE}],
    }}}}},
}  # fmt: skip


def test_images_are_found_in_every_pod_spec_once() -> None:
    assert container_images([DEPLOY, CRON, CRON]) == ["i", IMAGE, "reg/init@sha256:" + "b" * 64]


def test_rule_names_the_image_and_what_it_lacks() -> None:
    assert referrer_problem([SIG], [ReferrerLookup(IMAGE, frozenset({SIG}))]) is None
    assert referrer_problem([], [ReferrerLookup(IMAGE)]) is None
    problem = referrer_problem([SIG], [ReferrerLookup(IMAGE, frozenset({"application/spdx+json"}))])
    assert problem is not None
    assert problem.reason == api.Reason.REFERRER_MISSING
    assert f"'{IMAGE}' (no {SIG} referrer)" in problem.message
    assert not problem.stalled
    unpinned = referrer_problem([SIG], [ReferrerLookup("reg/api:1", error="not pinned by digest")])
    assert unpinned is not None
    assert "not pinned by digest" in unpinned.message


def observation(found: frozenset[str]) -> ApplicationObservation:
    deploy = {
        **DEPLOY,
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": IMAGE}]}}},
    }
    application = manifest_app(manifests={"objects": [deploy]}, verify={"requireReferrers": [SIG]})
    return ApplicationObservation(
        application, ready_tenant(), referrers=(ReferrerLookup(IMAGE, found),)
    )


def test_manifest_app_without_the_signature_applies_nothing() -> None:
    decision = decide_application(observation(frozenset()), NOW)
    assert decision.apply == ()
    ready = next(c for c in decision.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", api.Reason.REFERRER_MISSING)


def test_manifest_app_with_the_signature_deploys() -> None:
    decision = decide_application(observation(frozenset({SIG})), NOW)
    assert decision.apply


def test_helm_app_with_the_policy_is_refused_not_deployed_unchecked() -> None:
    application = helm_app(verify={"requireReferrers": [SIG]})
    decision = decide_application(ApplicationObservation(application, ready_tenant()), NOW)
    assert decision.helm is None
    ready = next(c for c in decision.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", api.Reason.SOURCE_INVALID)
