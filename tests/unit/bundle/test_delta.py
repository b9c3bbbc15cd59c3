"""Delta bundles: built on a verified base, carrying only what the base lacks.

Aspects: the delta names its base by manifest digest and lists every file of the release; it
carries the changed layer and every image manifest, not the unchanged config blobs or content;
it verifies alone (saying what it could not check) and completely with its base; another base is
refused; a delta that leaves a manifest to its base is refused; the cluster rules (base imported
and verified, base content still stored) refuse with the missing thing named; the CLI prints it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundle.build import BuildRequest, build
from bundle.delta import (
    base_blob_digests,
    check_base_content,
    check_base_imported,
    check_base_match,
    coverage,
)
from bundle.errors import ArchiveError, DeltaError, ManifestError
from bundle.importplan import content_name
from bundle.manifest import FileEntry, Manifest, from_payload
from bundle.ocigraph import BLOBS, OciGraph
from bundle.verify import Verified, verify_bundle
from outpost.cli import cli
from tests.unit.bundle.factory import NOW, Vendor, oci_layout, source_tree, vendor


def make(tmp: Path, v: Vendor, text: str, sequence: int, base: Path | None = None) -> Path:
    src = tmp / "src" if (tmp / "src").exists() else source_tree(tmp / "src")
    oci = oci_layout(tmp / f"oci-{text}", text=text)
    out = tmp / f"{text}-{sequence}.tar"
    request = BuildRequest(
        src, out, f"2.{sequence}.0", sequence, product="acme", images=(oci,), base=base
    )
    build(request, v.chain_bytes, v.bundle_keys[:1], NOW)
    return out


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Vendor, Verified, Verified]:
    v = vendor()
    base = make(tmp_path, v, "hello", 7)
    delta = make(tmp_path, v, "changed layer", 8, base=base)
    trust = v.trust_root()
    return v, verify_bundle(base, trust, NOW), verify_bundle(delta, trust, NOW)


def test_delta_names_base_and_lists_the_complete_release(pair) -> None:  # type: ignore[no-untyped-def]
    _, base, delta = pair
    m: Manifest = delta.manifest
    assert m.base is not None
    assert m.base.digest == base.verified.digest
    assert m.base.sequence == 7
    left = {f.path for f in m.from_base}
    # Unchanged configs, CRD, resources and chart stay with the base; every blob is listed.
    assert {"crds/widgets.acme.dev.yaml", "resources/10-widget.yaml"} <= left
    blobs = [f for f in m.files if f.path.startswith(BLOBS)]
    assert len(blobs) == 6  # index, 2 manifests, 2 configs, 1 layer
    carried_blobs = [f for f in m.carried if f.path.startswith(BLOBS)]
    assert len(carried_blobs) == 4  # index, 2 manifests (always), the new layer
    assert len(base_blob_digests(m)) == 2
    assert delta.path.stat().st_size < base.path.stat().st_size


def test_delta_verifies_alone_and_says_what_it_left_unchecked(pair) -> None:  # type: ignore[no-untyped-def]
    _, _base, delta = pair
    gaps = coverage(delta.manifest)
    assert gaps is not None
    assert gaps.base_files == len(delta.manifest.from_base) > 0
    assert "NOT checked" in gaps.text()
    assert "--base" in gaps.text()
    assert coverage(_base.manifest) is None


def test_base_match_accepts_its_base_and_refuses_another(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v, base, delta = pair
    check_base_match(delta.manifest, base.verified)
    other = verify_bundle(make(tmp_path, v, "other", 6), v.trust_root(), NOW)
    with pytest.raises(DeltaError, match="built on manifest"):
        check_base_match(delta.manifest, other.verified)


def test_manifest_refuses_in_base_files_without_a_base(pair) -> None:  # type: ignore[no-untyped-def]
    _, _, delta = pair
    doc = delta.manifest.to_dict()
    del doc["base"]
    with pytest.raises(ManifestError, match="no base is named"):
        from_payload(json.dumps(doc).encode())


def test_graph_refuses_a_manifest_left_to_the_base(pair) -> None:  # type: ignore[no-untyped-def]
    _, _, delta = pair
    m = delta.manifest
    graph = OciGraph(m.images)
    assert delta.staging is None
    index = next(f for f in m.files if f.path == "images/index.json")
    layout = next(f for f in m.files if f.path == "images/oci-layout")
    graph.accept(layout, b'{"imageLayoutVersion": "1.0.0"}')
    top_desc = {"mediaType": m.images[0].media_type, "digest": m.images[0].digest, "size": 1}
    raw = json.dumps({"manifests": [top_desc]}).encode()
    graph.accept(replace(index, size=len(raw)), raw)
    top = FileEntry(BLOBS + m.images[0].digest.removeprefix("sha256:"), 1, "0" * 64, True)
    with pytest.raises(ArchiveError, match="must carry every manifest"):
        graph.accept_from_base(top)


def bundle_obj(digest: str, verified: bool) -> dict[str, object]:
    status = "True" if verified else "False"
    return {
        "metadata": {"name": "acme-stable-7"},
        "spec": {"manifestDigest": f"sha256:{digest}"},
        "status": {"conditions": [{"type": "Verified", "status": status}]},
    }


def test_cluster_rules_name_the_missing_base_and_content(pair) -> None:  # type: ignore[no-untyped-def]
    _, base, delta = pair
    m = delta.manifest
    with pytest.raises(DeltaError, match=r"sequence 7 .* is not imported"):
        check_base_imported(m, [])
    with pytest.raises(DeltaError, match="not verified by the agent"):
        check_base_imported(m, [bundle_obj(base.verified.digest, False)])
    check_base_imported(m, [bundle_obj(base.verified.digest, True)])
    stored = {content_name(f.sha256) for f in m.from_base}
    check_base_content(m, stored, content_name)
    crd = m.file("crds/widgets.acme.dev.yaml")
    with pytest.raises(DeltaError, match=r"crds/widgets\.acme\.dev\.yaml"):
        check_base_content(m, stored - {content_name(crd.sha256)}, content_name)


def test_cli_verify_inspect_of_a_delta(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v, base, delta = pair
    trust = tmp_path / "trust.json"
    trust.write_bytes(v.trust_root())
    runner = CliRunner()
    alone = runner.invoke(cli, ["bundle", "verify", str(delta.path), "--trust", str(trust)])
    assert alone.exit_code == 0, alone.output
    assert "NOT checked" in alone.output
    both = runner.invoke(
        cli, ["bundle", "verify", str(delta.path), "--trust", str(trust), "--base", str(base.path),
              "--output", "json"],
    )  # fmt: skip
    assert both.exit_code == 0, both.output
    assert json.loads(both.stdout)["delta"]["complete"] is True
    wrong = runner.invoke(
        cli, ["bundle", "verify", str(delta.path), "--trust", str(trust), "--base", str(delta.path)]
    )
    assert wrong.exit_code == 1
    assert "delta check failed" in wrong.output
    shown = runner.invoke(cli, ["bundle", "inspect", str(delta.path)])
    assert f"manifest sha256:{base.verified.digest}" in shown.output
