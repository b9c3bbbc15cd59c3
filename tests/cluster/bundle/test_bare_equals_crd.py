"""A chart whose CRD has a bare `=` in an enum (as a public alerting chart renders its match
types) installs through a bundle: `helm template` renders it, the agent reads the rendered
stream as Kubernetes does, installs the release, and the CRDs are Established.

Before k8syaml, PyYAML read `=` as its "value" tag, the render check failed, and the Application
stalled with ChartRenderFailed and a message ending in "helm said: " and nothing after it. The
bundle's own CRD directory carries a second such CRD, read by the CLI and by the agent.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bundle.build import BuildRequest, build
from bundle.timestamps import now_utc
from tests.cluster.agent.agentkit import Agent, Kubectl, wait_for
from tests.cluster.bundle.kit import Lineage

pytestmark = pytest.mark.cluster

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  names: {{kind: {kind}, plural: {plural}, singular: {singular}}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              matchType:
                type: string
                enum:
                - =
                - '!='
                - =~
                - '!~'
                default: =
"""


def _crd(group: str, kind: str) -> str:
    low = kind.lower()
    return CRD.format(group=group, kind=kind, plural=f"{low}s", singular=low)


def _source(tmp: Path, lineage: Lineage, group: str) -> Path:
    """Bundle source: a chart rendering a CRD, a CRD of the bundle's own, a Tenant, an App."""
    src = tmp / "src"
    chart = src / "charts" / "matchers"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: matchers\nversion: 0.1.0\n")
    (chart / "templates" / "crd.yaml").write_text(_crd(group, "Matcher"))
    (src / "crds").mkdir()
    (src / "crds" / "routes.yaml").write_text(_crd(group, "Route"))
    (src / "resources").mkdir()
    owner, ns = f"{lineage.product}-t", f"{lineage.product}-ns"
    (src / "resources" / "app.yaml").write_text(
        f"apiVersion: outpost.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {owner}}}\n"
        f"spec: {{namespaces: [{ns}]}}\n---\n"
        f"apiVersion: outpost.dev/v1alpha1\nkind: Application\nmetadata: {{name: matchers}}\n"
        f"spec:\n  tenantRef: {{name: {owner}}}\n  namespace: {ns}\n"
        f"  helm: {{chart: charts/matchers}}\n"
    )
    return src


def test_chart_with_bare_equals_enum_installs_and_its_crds_are_established(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, tmp_path: Path
) -> None:
    group = f"{lineage.product}.yaml.outpost.test"
    out = tmp_path / "matchers.bundle.tar"
    request = BuildRequest(_source(tmp_path, lineage, group), out, "1.1.0", 1,
                           product=lineage.product, expires_in=timedelta(days=30))  # fmt: skip
    build(request, lineage.vendor.chain_bytes, lineage.vendor.bundle_keys[:1], now_utc())
    try:
        lineage.apply(out)
        ready = lambda: kubectl.condition("application", "matchers")  # noqa: E731
        wait_for(lambda: ready().get("status") == "True", 120, "Application Ready")
        for kind in ("matchers", "routes"):
            wait_for(lambda k=kind: kubectl.get("crd", f"{k}.{group}"), 60, f"CRD {kind}")
            kubectl.run("wait", "--for=condition=Established", f"crd/{kind}.{group}",
                        "--timeout=60s")  # fmt: skip
        crd = kubectl.get("crd", f"matchers.{group}") or {}
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        match_type = schema["properties"]["spec"]["properties"]["matchType"]
        assert match_type["enum"] == ["=", "!=", "=~", "!~"]
        assert match_type["default"] == "="
    finally:
        kubectl.run("delete", "application", "matchers", "--wait=false", check=False)
        for kind in ("matchers", "routes"):
            kubectl.run("delete", "crd", f"{kind}.{group}", "--wait=false", check=False)
