"""Licence decisions: verdicts by date and cluster, deterministic limits, features, gates."""

from __future__ import annotations

from datetime import timedelta

from agent.core import license as rules
from bundle.license import License, VerifiedLicense
from tests.unit.bundle.factory import NOW


def state(uid: str = "", required: bool = False, **kw: object) -> rules.LicenseState:
    lic = License("Acme", NOW - timedelta(days=1), kw.pop("expires", NOW + timedelta(days=90)),  # type: ignore[arg-type]
                  kw.pop("grace", timedelta(days=14)), dict(kw), uid)  # type: ignore[arg-type]  # fmt: skip
    return rules.LicenseState(VerifiedLicense(lic, "d" * 64, (), 1), "this-cluster", required)


def test_verdicts() -> None:
    assert rules.license_outcome(state(), NOW).reason == "LicenseValid"
    soon = state(expires=NOW + timedelta(days=10))
    assert rules.license_outcome(soon, NOW).reason == "LicenseExpiring"
    assert rules.license_outcome(soon, NOW).status == "True"
    gone = state(expires=NOW - timedelta(days=1))
    assert rules.license_outcome(gone, NOW).reason == "LicenseExpired"
    assert rules.license_outcome(state("other"), NOW).reason == "LicenseClusterMismatch"


def test_bundles_blocked_only_after_grace() -> None:
    in_grace = state(expires=NOW - timedelta(days=1))
    assert rules.bundle_problem(in_grace, NOW) is None
    ended = state(expires=NOW - timedelta(days=20))
    problem = rules.bundle_problem(ended, NOW)
    assert problem is not None
    assert problem.reason == "LicenseExpired"


def test_last_created_exceed_deterministically() -> None:
    peers = [rules.Created("c", "2026-01-02T00:00:00Z"), rules.Created("b", "2026-01-01T00:00:00Z"),
             rules.Created("a", "2026-01-02T00:00:00Z")]  # fmt: skip
    s = state(maxTenants=2)
    assert rules.exceeded("Tenant", "b", peers, s) is None
    assert rules.exceeded("Tenant", "a", peers, s) is None
    problem = rules.exceeded("Tenant", "c", peers, s)
    assert problem is not None
    assert "Tenant 3 of 3" in problem.message
    assert rules.exceeded("Application", "c", peers, s) is None  # no maxApplications: no limit


def test_features_and_required() -> None:
    s = state(**{"feature.sso": True})
    assert rules.missing_features(["feature.sso"], s) is None
    problem = rules.missing_features(["feature.audit"], s)
    assert problem is not None
    assert problem.reason == "EntitlementMissing"
    assert rules.missing_features(["feature.sso"], state("other", **{"feature.sso": True}))
    none = rules.LicenseState(None, "x", required=True)
    assert rules.required_problem(none) is not None
    assert rules.required_problem(rules.LicenseState(None, "x")) is None


def test_memory_refuses_older() -> None:
    s = state()
    assert s.in_force is not None
    memory = rules.remembered(s.in_force, None)
    assert memory is not None
    assert rules.older_than_memory(s.in_force, memory) == ""
    newer = rules.Memory("2099-01-01T00:00:00Z", "e" * 64)
    assert "rollback" in rules.older_than_memory(s.in_force, newer)
