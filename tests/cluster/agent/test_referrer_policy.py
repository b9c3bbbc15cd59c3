"""`spec.verify.requireReferrers` with the real agent, control plane and docker-registry.

An image pushed without a signature: the Application is refused with ReferrerMissing and its
Deployment is not created. Once the signature is pushed as a referrer of that digest (listed
under the spec's fallback tag, as `airgap` pushes it), the agent looks again and deploys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.layout import read_layout
from airgap.localregistry import RegistryServer
from airgap.push import apply_push, plan_push
from airgap.registry import open_client
from airgap.synthetic import ImageSpec, attach_referrer, write_layout
from tests.cluster.agent.agentkit import Agents, Kubectl, tenant, unique, wait_for
from tests.registry.conftest import registry  # noqa: F401 - fixture

pytestmark = [pytest.mark.cluster, pytest.mark.registry]
SIG = "application/vnd.dev.cosign.simplesigning.v1+json"
REF = "registry.acme.dev/acme/api:1.0"


def push(layout: Path, netloc: str) -> str:
    client = open_client(netloc, insecure_http=True)
    summary = apply_push(plan_push(read_layout(layout), client), client)
    return dict(summary.images)[REF]


def signed_app(name: str, owner: str, namespace: str, image: str) -> dict[str, object]:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": image}]},
            },
        },
    }
    return {
        "apiVersion": "outpost.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "tenantRef": {"name": owner},
            "namespace": namespace,
            "manifests": {"objects": [deploy]},
            "verify": {"requireReferrers": [SIG]},
        },
    }


def test_unsigned_image_is_refused_until_its_signature_arrives(
    kubectl: Kubectl,
    agents: Agents,
    made: list[tuple[str, str]],
    registry: RegistryServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    layout = tmp_path / "layout"
    write_layout(layout, [ImageSpec(REF, platforms=("linux/amd64",))], seed=4)
    image = push(layout, registry.netloc)
    agents.start()
    owner, ns, app = unique("sig"), unique("sig-a"), unique("signed")
    made.append(("tenant", owner))
    kubectl.apply(tenant(owner, [ns]))
    kubectl.run("wait", "--for=condition=Ready", f"tenant/{owner}", "--timeout=60s")
    made.append(("application", app))
    kubectl.apply(signed_app(app, owner, ns, image))
    wait_for(
        lambda: kubectl.condition("application", app).get("reason") == "ReferrerMissing",
        60,
        "the unsigned image to be refused",
    )
    assert SIG in kubectl.condition("application", app)["message"]
    assert kubectl.get("deployment", "api", ns) is None
    top = json.loads((layout / "index.json").read_text())["manifests"][0]
    attach_referrer(layout, top, SIG, b'{"critical": {"image": "signed"}}')
    assert push(layout, registry.netloc) == image
    wait_for(lambda: kubectl.get("deployment", "api", ns), 120, "the signed image to deploy")
