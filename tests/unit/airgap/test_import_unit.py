"""`outpost airgap import` without a registry or cluster: option refusals before any request,
the dry-run and summary documents (shape, totals, no credentials), and the helm flag that lets
the agent pull bundle charts back from a loopback plain-HTTP registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.kube.helm import Chart
from airgap.charts import ChartPush
from airgap.cli import airgap
from airgap.importreport import ChartStep, ImportPlan, ImportSummary
from airgap.push import PushSummary
from refs.errors import AddressError

BUNDLE = {"path": "b.tar", "product": "acme", "channel": "stable", "version": "2.0",
          "sequence": 7, "manifestDigest": "sha256:" + "c" * 64}  # fmt: skip
DIGEST = "sha256:" + "d" * 64


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--registry", "10.0.0.1:5000", "--insecure-http"], "only allowed for a loopback"),
        (["--registry", "127.0.0.1:1", "--username", "u"], "--username needs --password-stdin"),
        (["--registry", "https://reg.corp"], "is not HOST[:PORT][/PREFIX]"),
    ],
)
def test_unusable_registry_options_are_refused_before_anything_else(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    bundle, trust = tmp_path / "b.tar", tmp_path / "trust.json"
    bundle.write_bytes(b"x")
    trust.write_bytes(b"[]")
    result = CliRunner().invoke(airgap, ["import", str(bundle), "--trust", str(trust), *extra])
    assert isinstance(result.exception, AddressError)
    assert message in str(result.exception)


def test_trust_and_registry_are_required(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"x")
    assert CliRunner().invoke(airgap, ["import", str(bundle)]).exit_code == 2


def test_dry_run_document_counts_chart_bytes_and_names_the_bundle() -> None:
    charts = (
        ChartStep("web", "1.0", "oci://r:5000/charts/web", DIGEST, False, 1500),
        ChartStep("db", "2.0", "oci://r:5000/charts/db", DIGEST, True, 0),
    )
    cluster = {"bundle": "acme-stable-7", "createsBundle": True}
    plan = ImportPlan(BUNDLE, None, charts, cluster, "create Bundle acme-stable-7")
    doc = plan.to_dict()
    assert doc["dryRun"] is True
    assert doc["bytesToSend"] == 1500
    assert [c["action"] for c in doc["charts"]] == ["push", "exists"]
    assert doc["cluster"]["bundle"] == "acme-stable-7"
    assert "nothing was sent or created" in plan.text()


def test_summary_of_a_repeat_import_says_nothing_was_created() -> None:
    images = PushSummary(0, 0, 0, 5, 0, 0, 3, (("reg.acme/a:1", f"r:5000/p/a@{DIGEST}"),))
    chart = ChartPush("web", "1.0", "p/charts/web", "1.0", DIGEST)
    summary = ImportSummary(BUNDLE, images, (chart,), 0, "acme-stable-7", "r:5000/p", False)
    assert summary.to_dict()["bytesSent"] == 0
    assert summary.to_dict()["charts"][0]["url"] == "oci://r:5000/p/charts/web"
    assert "Bundle acme-stable-7 already present, nothing created" in summary.describe()


@pytest.mark.parametrize(
    ("ref", "plain"),
    [
        ("oci://127.0.0.1:5000/mirror/charts/web", True),
        ("oci://localhost/charts/web", True),
        ("oci://[::1]:5000/charts/web", True),
        ("oci://registry.corp:5000/charts/web", False),
        ("charts/web", False),
    ],
)
def test_helm_uses_plain_http_only_for_loopback_oci_charts(ref: str, plain: bool) -> None:
    assert ("--plain-http" in Chart(ref, "1.0").args()) is plain
