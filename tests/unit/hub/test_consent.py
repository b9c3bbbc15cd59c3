"""Consent by category, end to end: what the hub stores holds no field of a withheld category.

Each category is switched off in turn; the agent builds and signs its report as it would send
it, the hub ingests it, and the stored document is read back through the hub's own read API.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.sync import consent, report
from agent.sync.state import SyncState
from tests.unit.hub.hubkit import HubKit, snapshot
from tests.unit.hub.test_ingest import enroll, get, post

MARKERS = {
    "health": lambda doc: doc["dataplanes"] or doc["applications"]
    or any("ready" in t for t in doc["tenants"]) or "tenants" in doc["summary"],
    "usage": lambda doc: "usage" in doc["summary"] or any("usage" in t for t in doc["tenants"]),
    "owners": lambda doc: any("owner" in t for t in doc["tenants"]),
    "versions": lambda doc: doc["bundle"] is not None or doc["agent_version"] is not None,
}  # fmt: skip


def stored_report(kit: HubKit, share: frozenset[str]) -> dict[str, Any]:
    key, agent_id = enroll(kit)
    options = report.ReportOptions(share=share)
    payload, _ = report.build_report(snapshot(), SyncState(agent_id=agent_id), kit.clock(), "n1",
                                     options)  # fmt: skip
    path = f"/v1/agents/{agent_id}/reports"
    answer = post(kit, path, report.sign_report(payload, key))
    assert answer.status_code == 202, answer.text
    (item,) = get(kit, path).json()["reports"]
    return dict(item["report"])


@pytest.mark.parametrize("category", sorted(MARKERS))
def test_a_withheld_category_is_absent_from_what_the_hub_stored(category: str) -> None:
    kit = HubKit()
    everything = frozenset(consent.CATEGORIES)
    shared = stored_report(kit, everything)
    assert MARKERS[category](shared), f"{category} should be there when shared"
    withheld = stored_report(HubKit(), everything - {category})
    assert not MARKERS[category](withheld), f"{category} is withheld but the hub stored it"
    assert category in withheld["consent"]["withheld"]


def test_the_default_shares_health_usage_and_versions_only() -> None:
    doc = stored_report(HubKit(), consent.DEFAULT_SHARE)
    assert doc["consent"] == {
        "shared": ["health", "usage", "versions"],
        "withheld": ["owners", "support"],
    }
    assert not MARKERS["owners"](doc)


def test_an_unknown_category_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown consent categories \['telemetry'\]"):
        consent.parse_share("health,telemetry")
