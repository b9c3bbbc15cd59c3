"""The install page's licence section: the reported state, labelled and escaped."""

from __future__ import annotations

from hub.installpage import licence


def test_licence_section_shows_state_and_use() -> None:
    doc = {"license": {"customer": "<Acme>", "ready": "False", "reason": "LicenseExpired",
                       "tenants": "3/2", "applications": "1/-"}}  # fmt: skip
    html = licence(doc)
    assert "Customer: &lt;Acme&gt;" in html
    assert "Reason: LicenseExpired" in html
    assert "Tenants used/allowed: 3/2" in html
    assert "No licence state" in licence({"license": None})
