"""Helm applications held to their desired state on the real control plane (issue 11).

The vendor-web chart of the shape corpus (a subchart, a values schema, an HPA template, a `keep`
ConfigMap, a test hook with its own image): a Deployment deleted or edited by hand is put back
as Helm made it; a data-plane app's deletion finishes (release uninstalled, namespace gone); a
chart that fails to install shows Helm's own error, and once fixed under the same name and
version it is installed without any change to the spec.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.cluster.agent.agentkit import API, Agents, Kubectl, tenant, unique, wait_for

pytestmark = pytest.mark.cluster


def web_app(name: str, namespace: str, tenant_name: str = "", **values: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"namespace": namespace, "helm": {"chart": "vendor-web"}}
    spec["helm"]["values"] = values
    if tenant_name:
        spec["tenantRef"] = {"name": tenant_name}
    return {"apiVersion": API, "kind": "Application", "metadata": {"name": name}, "spec": spec}


def ready_tenant(kubectl: Kubectl, made: list[tuple[str, str]]) -> tuple[str, str]:
    name, ns = unique("drift"), unique("drift-a")
    made.append(("tenant", name))
    kubectl.apply(tenant(name, [ns]))
    kubectl.run("wait", "--for=condition=Ready", f"tenant/{name}", "--timeout=60s")
    return name, ns


def managers(obj: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or ()}


def live(kubectl: Kubectl, kind: str, name: str, ns: str) -> dict[str, Any] | None:
    proc = kubectl.run(
        "get", kind, name, "-n", ns, "-o", "json", "--show-managed-fields", check=False
    )
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def test_deleted_and_edited_objects_of_a_helm_app_are_put_back(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    owner, ns = ready_tenant(kubectl, made)
    app = unique("web")
    made.append(("application", app))
    kubectl.apply(web_app(app, ns, owner))
    kubectl.run("wait", "--for=condition=Ready", f"application/{app}", "--timeout=120s")
    deploy = f"{app}-web"

    kubectl.delete("deployment", deploy, ns, wait=True)
    started = time.monotonic()
    back = wait_for(lambda: live(kubectl, "deployment", deploy, ns), 60, "Deployment put back")
    print(f"deleted Deployment back after {time.monotonic() - started:.2f}s")
    notes = back["metadata"]["annotations"]
    assert notes["meta.helm.sh/release-name"] == app
    assert back["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert ("helm", "Apply") in managers(back)
    assert ("outpost-agent", "Apply") not in managers(back)
    found = json.loads(kubectl.run("get", "events", "-A", "-o", "json").stdout)["items"]
    assert any(e.get("reason") == "DriftRepaired" and app in e["involvedObject"]["name"]
               for e in found)  # fmt: skip

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil:1"}]}}}}
    kubectl.run("patch", "deployment", deploy, "-n", ns, "-p", json.dumps(patch))
    wait_for(
        lambda: (
            (live(kubectl, "deployment", deploy, ns) or {})["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
            == "registry.example/vendor/web:2.1.0"
        ),
        60,
        "hand-edited image reverted",
    )
    kubectl.run("wait", "--for=condition=Ready", f"application/{app}", "--timeout=120s")
    # A later `helm upgrade` (a spec change) still owns what the repair wrote: no conflict.
    kubectl.apply(web_app(app, ns, owner, replicaCount=2))
    wait_for(
        lambda: (live(kubectl, "deployment", deploy, ns) or {})["spec"].get("replicas") == 2,
        90,
        "upgrade after a repair",
    )


def test_deleting_a_data_plane_helm_app_finishes(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    agents.start()
    app, ns = unique("dp-web"), unique("dp-web-ns")
    kubectl.apply(web_app(app, ns))
    kubectl.run("wait", "--for=condition=Ready", f"application/{app}", "--timeout=120s")
    kubectl.delete("application", app)
    kubectl.run("wait", "--for=delete", f"application/{app}", "--timeout=90s")
    assert kubectl.items("secret", ns, f"owner=helm,name={app}") == []
    namespace = kubectl.get("namespace", ns)
    assert namespace is None or namespace["metadata"].get("deletionTimestamp")


def test_failed_install_shows_helms_error_and_a_fixed_chart_of_the_same_version_installs(
    kubectl: Kubectl, agents: Agents, made: list[tuple[str, str]]
) -> None:
    root = agents.chart_root()
    broken = root / "vendor-web" / "templates" / "kustomization.yaml"
    broken.write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "metadata:\n  name: leftover\nresources: []\n"
    )
    agents.start()
    owner, ns = ready_tenant(kubectl, made)
    app = unique("fix")
    made.append(("application", app))
    kubectl.apply(web_app(app, ns, owner))
    wait_for(
        lambda: (
            kubectl.condition("application", app, "Stalled").get("reason") == "HelmReleaseFailed"
        ),
        120,
        "HelmReleaseFailed",
    )
    ready = kubectl.condition("application", app)
    assert "helm said: Error:" in ready["message"], ready
    assert "Kustomization" in ready["message"], ready
    time.sleep(3)  # a later visit keeps Helm's words
    assert "Kustomization" in kubectl.condition("application", app)["message"]

    broken.unlink()  # the vendor fixes the chart; name and version stay the same
    wait_for(
        lambda: kubectl.condition("application", app).get("status") == "True",
        120,
        "the fixed chart installed without a spec change",
    )
