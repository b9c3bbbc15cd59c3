"""Support bundles at the hub: an enrolled agent uploads one only while its latest report shares
`support`; an admin uploads one by hand; both must be signed by that install's key. Stored byte
for byte, listed per install (API and page), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import tarfile

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.support import archive
from agent.sync import consent, report
from agent.sync.state import SyncState
from hub import access
from tests.unit.hub.hubkit import HubKit, run, snapshot
from tests.unit.hub.test_ingest import enroll, get, post

pytestmark = pytest.mark.usefixtures("backend")
REDACTIONS = b'{"redactions": [{"member": "a.json", "location": "$.p", "rule": "sensitive-key"}]}'


def bundles_path(agent_id: str) -> str:
    return f"/v1/agents/{agent_id}/support-bundles"


def send_report(kit: HubKit, key: Ed25519PrivateKey, agent_id: str, share: frozenset[str],
                seq: int = 0) -> None:  # fmt: skip
    state = SyncState(agent_id=agent_id, seq=seq)
    payload, _ = report.build_report(snapshot(), state, kit.clock(), f"n{seq}",
                                     report.ReportOptions(share=share))  # fmt: skip
    answer = post(kit, f"/v1/agents/{agent_id}/reports", report.sign_report(payload, key))
    assert answer.status_code == 202, answer.text


def packed(key: Ed25519PrivateKey, agent_id: str, kit: HubKit) -> bytes:
    members = {"a.json": b"{}\n", "logs/agent.log": b"started\n", "redactions.json": REDACTIONS}
    return archive.pack(members, key, agent_id, kit.clock())


def listed(kit: HubKit, agent_id: str) -> list[dict[str, object]]:
    answer = get(kit, bundles_path(agent_id))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["support_bundles"])


def test_an_agent_uploads_only_while_support_is_shared() -> None:
    kit = HubKit()
    key, agent_id = enroll(kit)
    data = packed(key, agent_id, kit)
    refused = post(kit, bundles_path(agent_id), data)
    assert refused.status_code == 403, "no report yet: consent unknown, so refused"
    send_report(kit, key, agent_id, consent.DEFAULT_SHARE)
    refused = post(kit, bundles_path(agent_id), data)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "consent_withheld")
    assert listed(kit, agent_id) == []
    send_report(kit, key, agent_id, consent.DEFAULT_SHARE | {"support"}, seq=1)
    stored = post(kit, bundles_path(agent_id), data)
    assert stored.status_code == 201, stored.text
    assert post(kit, bundles_path(agent_id), data).status_code == 200  # stored once
    (row,) = listed(kit, agent_id)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert (row["members"], row["redactions"], row["source"]) == (3, 1, "agent")
    fetched = get(kit, f"{bundles_path(agent_id)}/{row['sha256']}")
    assert fetched.content == data, "the archive comes back byte for byte"


def test_a_bundle_not_signed_by_the_install_key_or_edited_is_refused() -> None:
    kit = HubKit()
    key, agent_id = enroll(kit)
    send_report(kit, key, agent_id, frozenset(consent.CATEGORIES))
    stranger = packed(Ed25519PrivateKey.generate(), agent_id, kit)
    answer = post(kit, bundles_path(agent_id), stranger)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "support_bundle_invalid")
    other_key, other_id = enroll(kit)
    answer = post(kit, bundles_path(agent_id), packed(other_key, other_id, kit))
    assert answer.status_code == 422, "another install's bundle is not this install's"
    assert post(kit, bundles_path(agent_id), edited(packed(key, agent_id, kit))).status_code == 422
    assert post(kit, bundles_path(agent_id), b"not a tarball").status_code == 422
    assert listed(kit, agent_id) == []


def edited(data: bytes) -> bytes:
    """The same archive with one member's bytes changed after signing."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data)) as src,
        tarfile.open(fileobj=out, mode="w:gz") as dst,
    ):
        for info in src:
            body = src.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "logs/agent.log":
                body, info.size = b"edited!\n", 8
            dst.addfile(info, io.BytesIO(body))
    return out.getvalue()


def test_an_admin_uploads_by_hand_without_consent_a_viewer_cannot() -> None:
    kit = HubKit()
    key, agent_id = enroll(kit)
    send_report(kit, key, agent_id, consent.DEFAULT_SHARE)
    data = packed(key, agent_id, kit)
    viewer = access.create(kit.store, "v1", "viewer", kit.clock())
    assert post(kit, bundles_path(agent_id), data, viewer).status_code == 403
    assert post(kit, bundles_path(agent_id), data, "oat_unknown").status_code == 401
    assert post(kit, bundles_path(agent_id), data, kit.reader).status_code == 201
    (row,) = listed(kit, agent_id)
    assert row["source"] == "reader:test-admin"

    async def as_viewer() -> httpx.Response:
        async with kit.http() as http:
            path = f"{bundles_path(agent_id)}/{row['sha256']}"
            return await http.get(path, headers={"Authorization": f"Bearer {viewer}"})

    assert run(as_viewer()).status_code == 403, "a viewer lists bundles but cannot fetch one"


def test_the_install_page_lists_bundles_and_what_the_install_shares() -> None:
    kit = HubKit()
    key, agent_id = enroll(kit)
    send_report(kit, key, agent_id, frozenset({"health", "support"}))
    data = packed(key, agent_id, kit)
    assert post(kit, bundles_path(agent_id), data).status_code == 201
    html = get(kit, f"/installs/{agent_id}").text
    assert "Shares: health, support" in html
    assert "Withholds: usage, owners, versions" in html
    assert hashlib.sha256(data).hexdigest()[:16] in html
    assert "None uploaded." not in html
