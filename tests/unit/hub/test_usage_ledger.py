"""The hub's usage ledger over real signed reports: dedupe, revisions, late and skewed windows,
exports (CSV header, JSON gaps, OpenMeter CloudEvents), GET /v1/usage and /metrics."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agent.sync import report
from agent.sync.snapshot import ClusterSnapshot
from agent.sync.state import SyncState
from hub import usage_export
from hub.errors import HubError
from hub.sqlite import SqliteStore
from tests.unit.hub.hubkit import T0, HubKit, run, snapshot
from wire import enrollment, protocol
from wire.keys import new_key
from wire.usage import UsageRecord

# Each test runs on SQLite and on PostgreSQL (see conftest).
pytestmark = pytest.mark.usefixtures("backend")

UID = "uid-1"
HOUR = timedelta(hours=1)


def record(
    hour: int, quantity: float, revision: int = 1, tenant: str = "tenant-0000"
) -> UsageRecord:
    start = T0 - timedelta(hours=hour)
    return UsageRecord(UID, tenant, "cpu_core_seconds", "core_seconds", start, start + HOUR,
                       quantity, revision)  # fmt: skip


class Agent:
    """A signing agent: each `send` builds the next report in its chain, carrying `records`."""

    def __init__(self, kit: HubKit) -> None:
        self.kit, self.key = kit, new_key()
        body = report.compact(enrollment.sign_enrollment(self.key, UID, "n0", kit.clock()))
        assert kit.hub.enroll(kit.hub.create_token(), body).status == 201
        self.state = SyncState(agent_id=protocol.agent_id_for(self.key.public_key()))
        self.sent: list[bytes] = []

    def envelope(self, *records: UsageRecord, snap: ClusterSnapshot | None = None) -> bytes:
        snap = replace(snap or snapshot(uid=UID), usage=records)
        payload, self.state = report.build_report(
            snap, self.state, self.kit.clock(), f"n{self.state.seq + 1}"
        )
        return report.sign_report(payload, self.key)

    def send(self, *records: UsageRecord, snap: ClusterSnapshot | None = None) -> int:
        body = self.envelope(*records, snap=snap)
        self.sent.append(body)
        return self.kit.hub.ingest(self.state.agent_id, body).status


@pytest.fixture
def kit() -> HubKit:
    return HubKit()


def ledger(kit: HubKit) -> list[dict[str, str]]:
    assert kit.hub.usage is not None
    rows = kit.hub.usage.rows(T0 - 40 * 24 * HOUR, T0 + HOUR)
    from hub.usage_export import to_csv

    return list(csv.DictReader(io.StringIO(to_csv(rows))))


def test_replayed_and_resent_reports_change_nothing(kit: HubKit) -> None:
    agent = Agent(kit)
    assert agent.send(record(2, 10.0), record(1, 20.0)) == 202
    before = ledger(kit)
    assert kit.hub.ingest(agent.state.agent_id, agent.sent[0]).status == 200  # exact re-send
    assert agent.send(record(2, 10.0)) == 202  # the same window in a later report
    assert ledger(kit) == before
    assert [float(r["quantity"]) for r in before] == [10.0, 20.0]


def test_the_highest_revision_wins_whatever_the_order(kit: HubKit) -> None:
    agent = Agent(kit)
    agent.send(record(1, 5.0, revision=2))
    agent.send(record(1, 3.0, revision=1))
    agent.send(record(1, 7.0, revision=3))
    agent.send(record(1, 6.0, revision=2))
    [row] = ledger(kit)
    assert (row["revision"], float(row["quantity"])) == ("3", 7.0)


def test_late_windows_within_35_days_enter_older_ones_and_forged_ones_do_not(kit: HubKit) -> None:
    agent = Agent(kit)
    forged = replace(record(3, 1.0), install="another-cluster")
    agent.send(record(34 * 24, 1.0), record(36 * 24, 2.0), forged)
    rows = ledger(kit)
    assert [float(r["quantity"]) for r in rows] == [1.0]
    assert kit.hub.counts[("usage", "refused:too_late")] == 1
    assert kit.hub.counts[("usage", "refused:wrong_install")] == 1


def test_clock_skew_of_five_minutes_keeps_records_in_their_windows() -> None:
    for skew in (timedelta(minutes=-5), timedelta(minutes=5)):
        kit = HubKit()
        agent = Agent(kit)
        kit.clock.now = T0 - skew + timedelta(seconds=1 if skew.total_seconds() > 0 else 0)
        assert agent.send(record(1, 4.0)) == 202
        [row] = ledger(kit)
        assert row["window_start"] == (T0 - HOUR).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_csv_header_json_gaps_and_openmeter_events(kit: HubKit) -> None:
    from hub.usage_views import render

    agent = Agent(kit)
    agent.send(record(4, 1.0), record(3, 2.0), record(1, 4.0))
    assert kit.hub.usage is not None
    query = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
    _, text = render(kit.hub.usage, {**query, "output": "csv"})
    assert text.splitlines()[0] == (
        "install_id,cluster_uid,tenant,meter,unit,window_start,window_end,quantity,record_id,revision"
    )
    _, doc = render(kit.hub.usage, {**query, "output": "json"})
    gaps = json.loads(doc)["gaps"]
    assert [(g["missing_from"], g["missing_to"]) for g in gaps] == [
        ("2026-11-02T08:00:00Z", "2026-11-02T09:00:00Z")
    ]
    _, ndjson = render(kit.hub.usage, {**query, "output": "openmeter"})
    events = [json.loads(line) for line in ndjson.splitlines()]
    assert len(events) == 3
    for event in events:
        # CloudEvents 1.0 JSON as OpenMeter ingests it: required attributes, a JSON `data`.
        assert event["specversion"] == "1.0"
        assert {"id", "source", "type", "subject", "time", "data"} <= event.keys()
        assert isinstance(event["data"]["quantity"], float)
    assert len({(e["source"], e["id"]) for e in events}) == 3


def test_usage_endpoint_and_metrics(kit: HubKit) -> None:
    agent = Agent(kit)
    agent.send(record(1, 4.0))

    async def get(path: str) -> tuple[int, str]:
        async with kit.http() as http:
            resp = await http.get(path, headers=kit.reading())
            return resp.status_code, resp.text

    status, text = run(
        get("/v1/usage?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z&output=csv")
    )
    assert status == 200
    assert len(text.splitlines()) == 2
    assert run(get("/v1/usage?from=yesterday&to=now"))[0] == 400
    status, metrics = run(get("/metrics"))
    assert 'outpost_hub_reports_total{result="ingested"} 1' in metrics
    assert 'outpost_hub_usage_records_total{outcome="new"} 1' in metrics
    assert "outpost_hub_install_last_seen_age_seconds{install=" in metrics

    async def anonymous(path: str) -> int:
        async with kit.http() as http:
            return (await http.get(path)).status_code

    assert run(anonymous("/v1/usage?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z")) == 401
    assert run(anonymous("/metrics")) == 401


def test_the_usage_command_exports_the_ledger_and_explains_bad_times(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hub.cli import hub as hub_cli

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = SqliteStore(str(tmp_path / "hub.db"))
    kit = HubKit(store=store)
    Agent(kit).send(record(2, 10.0), record(1, 20.0, tenant="tenant-0001"))
    store.close()
    span = ["--from", "2026-11-01T00:00:00Z", "--to", "2026-11-03T00:00:00Z"]
    out = CliRunner().invoke(hub_cli, ["usage", "--db", url, *span, "--tenant", "tenant-0001"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == ",".join(usage_export.CSV_HEADER)
    assert len(lines) == 2
    assert lines[1].split(",")[7] == "20.000000"
    bad = CliRunner().invoke(hub_cli, ["usage", "--db", url, "--from", "May", "--to", "June"])
    assert isinstance(bad.exception, HubError)  # the CLI root prints it as one line, exit 2
    assert "RFC 3339" in str(bad.exception)
