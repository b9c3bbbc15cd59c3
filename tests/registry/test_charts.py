"""Helm charts pushed as OCI artifacts to docker-registry 2.8.2 and go-containerregistry.

Covers: the manifest/config/layer media types helm expects, the layer holding the exact .tgz
bytes, idempotent re-push, the CLI, and — when `OUTPOST_HELM` names a helm binary — that
`helm show chart` and `helm pull` work against the pushed chart with `--plain-http`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from agent.kube.helm import Chart
from airgap.charts import HELM_CONFIG, HELM_CONTENT, push_chart
from airgap.cli import airgap
from airgap.registry import RegistryClient, open_client
from airgap.synthetic import write_chart
from bundle.charts import oci_digest
from tests.registry.conftest import Served

pytestmark = pytest.mark.registry


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    return write_chart(tmp_path, "acme-api", "2.14.0", image="registry.acme.dev/acme/api:2.14.0")


@pytest.fixture
def client(any_registry: Served) -> RegistryClient:
    return open_client(f"{any_registry.netloc}/outpost", insecure_http=True)


def test_chart_is_an_oci_artifact_helm_understands(
    chart: Path, client: RegistryClient, any_registry: Served, skopeo: str
) -> None:
    pushed = push_chart(chart, client)
    assert (pushed.repository, pushed.tag) == ("outpost/charts/acme-api", "2.14.0")
    ref = f"docker://{any_registry.netloc}/{pushed.repository}:{pushed.tag}"
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", ref],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    manifest = json.loads(raw)
    assert manifest["config"]["mediaType"] == HELM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [HELM_CONTENT]
    base = f"http://{any_registry.netloc}/v2/{pushed.repository}/blobs/"
    config = httpx.get(base + manifest["config"]["digest"], timeout=10).json()
    assert (config["name"], config["version"], config["apiVersion"]) == ("acme-api", "2.14.0", "v2")
    layer = httpx.get(base + manifest["layers"][0]["digest"], timeout=10)
    assert layer.content == chart.read_bytes()


def test_second_chart_push_changes_nothing(chart: Path, client: RegistryClient) -> None:
    first = push_chart(chart, client)
    assert push_chart(chart, client) == first


def test_push_chart_cli_prints_the_oci_url(chart: Path, any_registry: Served) -> None:
    result = CliRunner().invoke(
        airgap,
        [
            "push-chart",
            str(chart),
            "--registry",
            f"{any_registry.netloc}/outpost",
            "--insecure-http",
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["charts"]
    assert record["url"] == f"oci://{any_registry.netloc}/outpost/charts/acme-api"


@pytest.mark.skipif(not os.environ.get("OUTPOST_HELM"), reason="OUTPOST_HELM names no helm binary")
def test_helm_pulls_the_pushed_chart(
    chart: Path, client: RegistryClient, any_registry: Served, tmp_path: Path
) -> None:
    helm = os.environ["OUTPOST_HELM"]
    push_chart(chart, client)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "HELM_CACHE_HOME": str(tmp_path / "cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "config"),
        "HELM_DATA_HOME": str(tmp_path / "data"),
    }
    url = f"oci://{any_registry.netloc}/outpost/charts/acme-api"
    shown = subprocess.run(
        [helm, "show", "chart", url, "--version", "2.14.0", "--plain-http"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "name: acme-api" in shown.stdout
    out = tmp_path / "pulled"
    out.mkdir()
    pulled = subprocess.run(
        [helm, "pull", url, "--version", "2.14.0", "--plain-http", "-d", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "acme-api-2.14.0.tgz").read_bytes() == chart.read_bytes()


def test_the_agent_computes_the_digest_the_importer_pushes(
    chart: Path, client: RegistryClient
) -> None:
    assert push_chart(chart, client).digest == oci_digest(chart.read_bytes())


@pytest.mark.skipif(not os.environ.get("OUTPOST_HELM"), reason="OUTPOST_HELM names no helm binary")
@pytest.mark.parametrize("binary", ["helm", "helm3"])
def test_a_moved_tag_does_not_change_what_is_pulled_by_digest(
    binary: str, client: RegistryClient, any_registry: Served, tmp_path: Path
) -> None:
    """Issue 11: re-importing an older bundle re-tags its chart; pulling by digest ignores it."""
    helm = str(Path(os.environ["OUTPOST_HELM"]).with_name(binary))
    for part in ("new", "old"):
        (tmp_path / part).mkdir()
    new = write_chart(tmp_path / "new", "acme-api", "2.14.0", image="registry.acme.dev/new:2")
    old = write_chart(tmp_path / "old", "acme-api", "2.14.0", image="registry.acme.dev/old:1")
    pinned = push_chart(new, client).digest
    assert pinned == oci_digest(new.read_bytes())
    push_chart(old, client)  # the older bundle's import moves the tag back
    base = f"oci://{any_registry.netloc}/outpost/charts/acme-api"
    chart = Chart(f"{base}@{pinned}", "2.14.0")
    env = {**os.environ, "HOME": str(tmp_path)}
    env |= {f"HELM_{part}_HOME": str(tmp_path / part) for part in ("CACHE", "CONFIG", "DATA")}
    args = [helm, "template", "r", *chart.args()]
    if "--plain-http" not in args:
        args.append("--plain-http")
    shown = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "registry.acme.dev/new:2" in shown.stdout
    by_tag = subprocess.run(
        [helm, "template", "r", base, "--version", "2.14.0", "--plain-http"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert "registry.acme.dev/old:1" in by_tag.stdout  # the tag did move
