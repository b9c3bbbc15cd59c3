"""Charts as vendors ship them: `.helmignore` honoured when packing, `helm package` archives read.

The corpus is tests/data/charts (vendor-ingress: `.helmignore`, `crds/` with a Kustomization,
tests/ and a backup file to leave out; packed/: vendor-web archived by Helm 4 and by Helm 3).
When `OUTPOST_HELM` names a helm binary, `helm package` itself is the oracle for the file list.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from airgap.charts import chart_metadata
from bundle.charts import load_chart
from bundle.errors import BundleError
from bundle.helmignore import ignored, parse_rules

CHARTS = Path(__file__).resolve().parents[2] / "data" / "charts"
PACKED = sorted((CHARTS / "packed").glob("helm*/*.tgz"))


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return sorted(m.name for m in tar if m.isreg())


def test_bundle_build_packs_what_helm_package_packs() -> None:
    packed = load_chart(CHARTS / "vendor-ingress")
    assert names(packed.data) == [
        "vendor-ingress/.helmignore",
        "vendor-ingress/Chart.yaml",
        "vendor-ingress/crds/widgets.yaml",
        "vendor-ingress/templates/_helpers.tpl",
        "vendor-ingress/templates/deployment.yaml",
        "vendor-ingress/templates/ingressclass.yaml",
        "vendor-ingress/templates/rbac.yaml",
        "vendor-ingress/values.schema.json",
        "vendor-ingress/values.yaml",
    ]


@pytest.mark.skipif(not os.environ.get("OUTPOST_HELM"), reason="OUTPOST_HELM names no helm binary")
@pytest.mark.parametrize("chart", ["vendor-ingress", "vendor-web"])
def test_file_list_matches_helm_package(chart: str, tmp_path: Path) -> None:
    helm = os.environ["OUTPOST_HELM"]
    subprocess.run(
        [helm, "package", str(CHARTS / chart), "-d", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (archive,) = tmp_path.glob("*.tgz")
    assert names(load_chart(CHARTS / chart).data) == names(archive.read_bytes())


@pytest.mark.parametrize("archive", PACKED, ids=lambda p: p.parent.name)
def test_helm_package_archives_are_read_by_build_and_import(archive: Path) -> None:
    assert archive.read_bytes()[3] & 0x04, "helm's gzip header has FEXTRA set"
    packed = load_chart(archive)
    assert (packed.name, packed.version) == ("vendor-web", "1.4.0")
    meta = chart_metadata(archive)
    assert (meta["name"], meta["version"], meta["appVersion"]) == ("vendor-web", "1.4.0", "2.1.0")


@pytest.mark.parametrize(
    ("path", "is_dir", "expected"),
    [
        ("tests", True, True),
        ("tests", False, False),  # `tests/` is for directories only
        ("crds/kustomization.yaml", False, True),
        ("other/kustomization.yaml", False, False),  # a path rule matches the whole path
        ("templates/x.bak", False, True),  # a base-name rule matches at any depth
        ("templates/.hidden.yaml", False, True),  # helm's default rule
        ("templates/deployment.yaml", False, False),
        ("a/b.swp", False, True),
    ],
)
def test_ignore_rules_follow_helm(path: str, is_dir: bool, expected: bool) -> None:
    rules = parse_rules("# comment\n\ntests/\n*.bak\n*.swp\ncrds/kustomization.yaml\n")
    assert ignored(rules, path, is_dir) is expected


def test_star_does_not_cross_a_slash_and_anchors_work() -> None:
    rules = parse_rules("/docs\nsub/*.md\n")
    assert ignored(rules, "docs", True)
    assert not ignored(rules, "x/docs", True)
    assert ignored(rules, "sub/a.md", False)
    assert not ignored(rules, "sub/deeper/a.md", False)


def test_double_star_is_refused_like_helm() -> None:
    with pytest.raises(BundleError, match=r"\*\*"):
        parse_rules("**/tests\n")
