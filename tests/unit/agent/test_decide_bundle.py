"""Bundle status: Verified, Applied and Ready from verification results and resource state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent import api
from agent.core.bundle import BundleObservation, Evidence, decide_bundle
from agent.core.conditions import Problem
from agent.core.objects import ObjectRef

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BUNDLE: dict[str, Any] = {
    "apiVersion": api.API_VERSION,
    "kind": "Bundle",
    "metadata": {"name": "acme-1-4-2", "generation": 1},
    "spec": {"version": "1.4.2", "sequence": 7},
}
EVIDENCE = Evidence(("k1",), "sha256:" + "a" * 64, NOW, "always")
REF = ObjectRef(api.API_VERSION, "Tenant", "", "acme-web")


def conditions(obs: BundleObservation) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in decide_bundle(obs, NOW).conditions}


@pytest.mark.parametrize(
    ("verification", "pending", "expected"),
    [
        pytest.param(
            EVIDENCE,
            (),
            {"Ready": ("True", "Reconciled"), "Verified": ("True", "Verified"),
             "Applied": ("True", "Applied")},
            id="verified-and-applied",
        ),
        pytest.param(
            EVIDENCE,
            ("Application webapp",),
            {"Ready": ("False", "Progressing"), "Reconciling": ("True", "Progressing"),
             "Verified": ("True", "Verified"), "Applied": ("False", "NotApplied")},
            id="verified-pending",
        ),
        pytest.param(
            Problem(api.Reason.VERIFICATION_FAILED, "bad signature"),
            (),
            {"Ready": ("False", "VerificationFailed"), "Stalled": ("True", "VerificationFailed"),
             "Verified": ("False", "VerificationFailed"), "Applied": ("False", "NotApplied")},
            id="verification-failed",
        ),
        pytest.param(
            Problem(api.Reason.ROLLBACK_REFUSED, "sequence 7 < 9"),
            (),
            {"Ready": ("False", "RollbackRefused"), "Stalled": ("True", "RollbackRefused"),
             "Verified": ("False", "RollbackRefused"), "Applied": ("False", "NotApplied")},
            id="rollback-refused",
        ),
    ],
)  # fmt: skip
def test_bundle_conditions(
    verification: Evidence | Problem, pending: tuple[str, ...], expected: dict[str, Any]
) -> None:
    assert conditions(BundleObservation(BUNDLE, verification, (REF,), pending)) == expected


def test_bundle_status_records_evidence_and_applied() -> None:
    status = decide_bundle(BundleObservation(BUNDLE, EVIDENCE, (REF,)), NOW).status
    assert status is not None
    assert status["evidence"] == EVIDENCE.to_dict()
    assert status["evidence"]["verifiedTime"] == "2026-01-01T12:00:00Z"
    assert status["applied"] == [{"apiVersion": api.API_VERSION, "kind": "Tenant",
                                  "name": "acme-web"}]  # fmt: skip
