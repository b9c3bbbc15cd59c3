"""The chart on a real API server with Helm 4 and Helm 3: `install --wait` makes the agent
Deployment Available (kwok runs the pods; the image is never pulled), `upgrade` rolls a changed
value out, `uninstall` removes the release but keeps the CRDs by default.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.chart.release import (
    CRD_DIR,
    Release,
    get_json,
    helm,
    install,
    new_release_name,
    run,
)
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster


def _crd_names() -> list[str]:
    return sorted(f"{p.name.removesuffix('.yaml')}" for p in CRD_DIR.glob("*.yaml"))


@pytest.fixture(params=["helm", "helm3"])
def release(cluster: Cluster, namespace: str, request: pytest.FixtureRequest) -> Iterator[Release]:
    found = Release(new_release_name(), namespace, cluster.bin_dir / str(request.param))
    yield found
    # A failed test must not leave cluster-scoped objects behind (no-op after a clean uninstall).
    run(cluster, [str(found.helm), "uninstall", found.name, "-n", namespace], check=False)


def test_install_upgrade_uninstall(cluster: Cluster, release: Release) -> None:
    if not _crd_names():
        pytest.skip("charts/outpost-agent/files/crds/ holds no CRD yet")
    namespace = release.namespace
    install(cluster, release)

    deploy = get_json(cluster, "deployment", release.fullname, "-n", namespace)
    available = {c["type"]: c["status"] for c in deploy["status"]["conditions"]}
    assert available["Available"] == "True"
    assert deploy["status"]["readyReplicas"] == 2
    for crd in _crd_names():
        got = get_json(cluster, "crd", crd)
        assert got["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    helm(
        cluster,
        release,
        "upgrade",
        release.name,
        str(CRD_DIR.parents[1]),
        "--reuse-values",
        "--set",
        "agent.resyncSeconds=30",
        "--wait",
        "--timeout",
        "180s",
    )
    deploy = get_json(cluster, "deployment", release.fullname, "-n", namespace)
    assert "--resync=30" in deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    status = helm(cluster, release, "status", release.name, "-o", "json").stdout
    assert '"version":2' in status.replace(" ", "")

    helm(cluster, release, "uninstall", release.name, "--wait", "--timeout", "120s")
    gone = cluster.kubectl_run("get", "clusterrole", release.fullname, check=False)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
    for crd in _crd_names():
        cluster.kubectl_run("get", "crd", crd)  # kept: still there after uninstall
