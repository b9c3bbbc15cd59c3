"""The per-install analytics page in a real headless Chromium, served by uvicorn: health over
time, bundle versions over time, usage per tenant per day as SVG, the gaps of the usage chain, and
the fleet page linking to it. Screenshots are copied to $OUTPOST_SCREENSHOT_DIR when set."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agent.sync.snapshot import BundleInfo, Health
from tests.unit.hub.hubkit import HubKit, ServedHub, SignedIn, snapshot
from tests.unit.hub.test_page_browser import CHROMIUM, chromium
from tests.unit.hub.test_usage_ledger import UID, Agent
from wire.usage import UsageRecord

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")
pytest.importorskip("uvicorn")
TENANTS = ("acme", "globex", "initech")
RATES = {"acme": 2.0, "globex": 0.5, "initech": 1.0}


def records(kit: HubKit, hours: int, skip: set[int]) -> list[UsageRecord]:
    """The last `hours` hourly windows of each tenant, minus the windows numbered in `skip`."""
    end = kit.clock().replace(minute=0, second=0, microsecond=0)
    out = []
    for back in range(1, hours + 1):
        start = end - timedelta(hours=back)
        if back in skip:
            continue
        for tenant in TENANTS:
            out.append(UsageRecord(UID, tenant, "cpu_core_seconds", "core_seconds", start,
                                   start + timedelta(hours=1), RATES[tenant] * 3600))  # fmt: skip
    return out


def populate(kit: HubKit) -> str:
    """Five days of reports every six hours: a bundle upgrade on day 3, a bad spell on day 4,
    and two hours of usage never reported (a gap)."""
    agent = Agent(kit)
    kit.clock.advance(-5 * 24 * 3600)
    for step in range(20):
        kit.clock.advance(6 * 3600)
        snap = snapshot(tenants=len(TENANTS), uid=UID)
        snap = replace(snap, bundle=BundleInfo("2.15.0" if step >= 10 else "2.14.0", 1000 + step))
        if step in (14, 15):
            snap = replace(snap, dataplanes=(Health("main", "False", "NodesUnavailable"),))
        usage = records(kit, 6, skip={3, 4} if step == 12 else set())
        for part in range(0, len(usage), 200):
            assert agent.send(*usage[part : part + 200], snap=snap) == 202
    return agent.state.agent_id


def test_the_install_page_shows_history_usage_and_gaps(tmp_path: Path) -> None:
    kit = HubKit()
    agent_id = populate(kit)
    shots = {"fleet": tmp_path / "fleet.png", "install": tmp_path / "install.png"}
    with ServedHub(SignedIn(kit.app, kit.reader)) as hub:
        fleet_dom = chromium("--dump-dom", hub.url + "/", profile=tmp_path / "p0")
        dom = chromium("--dump-dom", f"{hub.url}/installs/{agent_id}", profile=tmp_path / "p1")
        for name, shot in shots.items():
            url = f"{hub.url}/installs/{agent_id}" if name == "install" else hub.url + "/"
            flags = ("--window-size=1280,1300",) if name == "install" else ()
            made = chromium(*flags, f"--screenshot={shot}", url, profile=tmp_path / f"s{name}")
            assert made.returncode == 0, made.stderr[-2000:]
    assert f'href="/installs/{agent_id}"' in fleet_dom.stdout
    page = dom.stdout
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in ("2.14.0", "2.15.0", "acme", "globex", "initech", "% Ready", "gap(s)"):
        assert text in page, text
    assert len(re.findall(r"<polyline", page)) == 3  # data planes, tenants, applications
    # Usage bars: acme's 2 cores for a full day are 48 core-hours.
    assert re.search(r"acme 2026-10-3\d: 48\.000 core-h", page)
    assert page.count("no record from") == 3  # one gap per tenant, not filled
    for shot in shots.values():
        assert shot.read_bytes().startswith(b"\x89PNG")
    target = os.environ.get("OUTPOST_SCREENSHOT_DIR")
    if target:
        for name, shot in shots.items():
            shutil.copyfile(shot, Path(target) / f"{name}.png")
