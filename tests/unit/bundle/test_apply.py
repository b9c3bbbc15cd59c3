"""`bundle apply` without a cluster: `apply_bundle` over an in-memory stand-in for the Kubernetes
API (`FakeCluster`, the same calls as `bundle.cluster.Cluster`). Aspects: the plan and the
objects written; idempotent re-import; rollback refused before anything is written; a permit
allows it; bundles with images refused unless --skip-images; CLI error for bad credentials; a
keyring chain below the cluster's trust floor refused, a newer one raising it."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

from bundle.cluster import Cluster
from bundle.errors import BundleError, RollbackError, TrustRollbackError
from bundle.handoff import ApplyRequest, Handoff, apply_bundle
from bundle.keyring import Keyring, from_payload
from bundle.lineage import APPLIED_AT, format_applied
from bundle.rollback import DowngradePermit, sign_permit
from bundle.trustfloor import Floor, check_floor, floor_to_data, raised
from bundle.verify import verify_bundle
from outpost.cli import cli
from tests.unit.bundle.factory import NOW, build_bundle, key, rotate_bundle_key, vendor


class FakeCluster:
    def __init__(self, bundles: list[dict[str, Any]] | None = None) -> None:
        self.bundle_objects = list(bundles or [])
        self.configmaps: dict[str, dict[str, Any]] = {}
        self.namespaces: set[str] = set()
        self.trust_floor: Floor | None = None
        self.remembered: dict[str, str] = {}

    def floor(self, namespace: str) -> Floor | None:
        return self.trust_floor

    def floor_data(self, namespace: str) -> dict[str, str]:
        return {**self.remembered, **(floor_to_data(self.trust_floor) if self.trust_floor else {})}

    def remember(self, namespace: str, data: dict[str, str]) -> None:
        self.remembered.update(data)

    def raise_floor(self, namespace: str, keyring: Keyring) -> None:
        check_floor(keyring, self.trust_floor)
        self.trust_floor = raised(self.trust_floor, keyring) or self.trust_floor

    def bundles(self) -> list[dict[str, Any]]:
        return list(self.bundle_objects)

    def stored(self, namespace: str) -> set[str]:
        return {n for n, cm in self.configmaps.items() if cm["metadata"]["namespace"] == namespace}

    def ensure_namespace(self, namespace: str) -> None:
        self.namespaces.add(namespace)

    def store(self, body: dict[str, Any]) -> None:
        self.configmaps.setdefault(body["metadata"]["name"], body)

    def create_bundle(self, body: dict[str, Any]) -> None:
        self.bundle_objects.append(body)

    @property
    def writes(self) -> int:
        return len(self.configmaps) + len(self.bundle_objects) + len(self.namespaces)


def _apply(path: Path, fake: FakeCluster, trust: bytes, **kw: Any) -> Any:
    request = ApplyRequest(path, trust, "outpost-system", **kw)
    return apply_bundle(request, cast(Cluster, fake), NOW)


def test_apply_stores_content_by_digest_then_creates_the_bundle(tmp_path: Path) -> None:
    v, fake = vendor(), FakeCluster()
    path = build_bundle(tmp_path, v, images=False)
    plan = _apply(path, fake, v.trust_root())
    assert plan.decision == "install"
    assert fake.namespaces == {"outpost-system"}
    (body,) = fake.bundle_objects
    assert body["metadata"]["name"] == "acme-platform-stable-7"
    assert {c["path"] for c in body["spec"]["content"]} == {
        "crds/widgets.acme.dev.yaml", "resources/10-widget.yaml", "resources/5-first.yaml",
        "charts/demo-1.2.3.tgz",
    }  # fmt: skip
    for item in body["spec"]["content"]:
        cm = fake.configmaps[item["configMapRef"]["name"]]
        assert cm["immutable"] is True
        assert cm["metadata"]["labels"] == {"outpost.dev/content": "true"}
        assert len(base64.b64decode(cm["binaryData"]["content"])) == item["size"]
    again = _apply(path, fake, v.trust_root())
    assert again.noop
    assert len(fake.bundle_objects) == 1


def test_dry_run_plans_and_writes_nothing(tmp_path: Path) -> None:
    v, fake = vendor(), FakeCluster()
    plan = _apply(build_bundle(tmp_path, v, images=False), fake, v.trust_root(), dry_run=True)
    assert len(plan.store) == 4
    assert "create Bundle acme-platform-stable-7" in plan.text()
    assert fake.writes == 0


def _applied(seq: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"acme-platform-stable-{seq}", "creationTimestamp": "2026-11-01",
                     "annotations": {APPLIED_AT: format_applied(NOW)}},
        "spec": {"product": "acme-platform", "channel": "stable", "sequence": seq,
                 "manifestDigest": "sha256:" + "0" * 64},
    }  # fmt: skip


def test_a_rollback_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    v, fake = vendor(), FakeCluster([_applied(9)])
    with pytest.raises(RollbackError, match="lower than the applied 9"):
        _apply(build_bundle(tmp_path, v, images=False), fake, v.trust_root())
    assert fake.writes == 1  # only the Bundle that was already there


def test_a_signed_permit_allows_the_downgrade(tmp_path: Path) -> None:
    v, fake = vendor(), FakeCluster([_applied(9)])
    permit = DowngradePermit("acme-platform", "stable", 7, "2.14.0", NOW + timedelta(days=1))
    envelope = sign_permit(permit, v.bundle_keys[:1]).to_json()
    plan = _apply(build_bundle(tmp_path, v, images=False), fake, v.trust_root(), permit=envelope)
    assert plan.decision == "downgrade"
    assert fake.bundle_objects[-1]["spec"]["downgradePermit"] == envelope.decode()


def test_a_bundle_with_images_is_refused_unless_they_are_skipped(tmp_path: Path) -> None:
    v, fake = vendor(), FakeCluster()
    path = build_bundle(tmp_path, v, images=True)
    with pytest.raises(BundleError, match="outpost airgap import"):
        _apply(path, fake, v.trust_root())
    assert fake.writes == 0
    plan = _apply(path, fake, v.trust_root(), skip_images=True)
    assert "1 images were not pushed" in plan.notes[0]


def test_the_cli_reports_unusable_credentials(tmp_path: Path) -> None:
    v = vendor()
    path = build_bundle(tmp_path, v, images=False)
    trust = tmp_path / "trust.json"
    trust.write_bytes(v.trust_root())
    missing = tmp_path / "no-such-kubeconfig"
    args = ["bundle", "apply", str(path), "--trust", str(trust), "--kubeconfig", str(missing)]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, BundleError)
    assert result.exception.exit_code == 2
    assert "cannot load Kubernetes credentials" in str(result.exception)


def test_apply_refuses_a_chain_below_the_trust_floor_and_raises_it(tmp_path: Path) -> None:
    v1, fake = vendor(), FakeCluster()
    v2 = rotate_bundle_key(v1, key("bundle-after-rotation"))
    (tmp_path / "new").mkdir()
    newer = build_bundle(tmp_path / "new", v2, images=False, sequence=8)
    _apply(newer, fake, v1.trust_root())
    assert fake.trust_floor == Floor(2, from_payload(v2.chain[1].payload).digest)
    fake.bundle_objects.clear()  # deleting Bundles does not touch the floor
    old = build_bundle(tmp_path, v1, images=False, sequence=9)  # the retired key, v1 chain only
    before = fake.writes
    with pytest.raises(TrustRollbackError, match="already trusts keyring v2"):
        _apply(old, fake, v1.trust_root())
    assert fake.writes == before


def test_the_airgap_path_shares_the_handoff_and_takes_a_permit(tmp_path: Path) -> None:
    """`airgap import` hands over through the same Handoff: permit honoured, registry recorded."""
    v, fake = vendor(), FakeCluster([_applied(9)])
    permit = DowngradePermit("acme-platform", "stable", 7, "2.14.0", NOW + timedelta(days=1))
    envelope = sign_permit(permit, v.bundle_keys[:1]).to_json()
    path = build_bundle(tmp_path, v, images=True)
    request = ApplyRequest(
        path, v.trust_root(), "outpost-system", envelope, skip_images=True,
        continue_if_imported=True,
    )  # fmt: skip
    handoff = Handoff(cast(Cluster, fake), request, NOW)
    verified = verify_bundle(path, v.trust_root(), NOW, staging=tmp_path / "s", admit=handoff.admit)
    result = handoff.apply(verified, "registry.example:5000/acme")
    assert result.plan.decision == "downgrade"
    spec = fake.bundle_objects[-1]["spec"]
    assert spec["downgradePermit"] == envelope.decode()
    assert spec["registry"] == "registry.example:5000/acme"


def test_airgap_import_offers_permit() -> None:
    result = CliRunner().invoke(cli, ["airgap", "import", "--help"])
    assert "--permit" in result.output
