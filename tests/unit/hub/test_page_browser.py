"""The fleet page rendered by a real headless Chromium against the hub served by uvicorn.

Aspects: the page loads over HTTP from 127.0.0.1, the browser's DOM shows every install with its
health and usage, and a screenshot is produced (copied to $OUTPOST_FLEET_SCREENSHOT if set, for a
human to look at). Skipped when Chromium or uvicorn is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from agent.sync.snapshot import Health
from tests.unit.hub import fleetkit
from tests.unit.hub.hubkit import HubKit, ServedHub, SignedIn, agent, run, snapshot

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (Debian: apt-get install -y chromium)"
)
pytest.importorskip("uvicorn")

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)  # fmt: skip


def populate(kit: HubKit) -> None:
    """Three installs: healthy, degraded (with a chain gap), and large."""
    fleets = [
        snapshot(tenants=5, apps_per_tenant=1, uid="c0ffee00-prod-eu"),
        snapshot(tenants=9, apps_per_tenant=2, uid="c0ffee01-prod-us"),
        snapshot(tenants=40, apps_per_tenant=3, uid="c0ffee02-staging"),
    ]
    fleets[1] = fleets[1].__class__(
        **{**fleets[1].__dict__, "dataplanes": (Health("main", "False", "NodesUnavailable"),)}
    )
    for number, snap in enumerate(fleets):
        cycle, _ = agent()
        for _ in range(number + 1):
            run(cycle.produce(snap, kit.clock.advance(90), f"n{kit.clock().timestamp()}"))
        if number == 1:
            spool = run(cycle.stores.load_spool())
            run(cycle.stores.save_spool(spool[1:]))  # one report lost
        last = run(cycle.export(snap, kit.clock.advance(30), "last"))
        kit.hub.upload(last, kit.hub.create_token())
    kit.clock.advance(timedelta(minutes=3).total_seconds())


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


def test_the_fleet_page_renders_in_a_browser(tmp_path: Path) -> None:
    kit = HubKit()
    populate(kit)
    shot = tmp_path / "fleet.png"
    with ServedHub(SignedIn(kit.app, kit.reader)) as hub:
        dom = chromium("--dump-dom", hub.url + "/", profile=tmp_path / "p1")
        made = chromium(f"--screenshot={shot}", hub.url + "/", profile=tmp_path / "p2")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in ("Outpost fleet", "c0ffee00-prod-eu", "c0ffee02-staging", "2.14.0", "chain gap",
                 "data plane main: NodesUnavailable", "Installs"):  # fmt: skip
        assert text in dom.stdout
    assert made.returncode == 0, made.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG")
    target = os.environ.get("OUTPOST_FLEET_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)


def test_without_a_session_the_browser_gets_the_sign_in_form(tmp_path: Path) -> None:
    kit = HubKit()
    populate(kit)
    with ServedHub(kit.app) as hub:
        dom = chromium("--dump-dom", hub.url + "/", profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'name="token"' in dom.stdout
    assert "c0ffee00-prod-eu" not in dom.stdout


def test_the_fleet_of_3000_installs_and_one_install_in_a_browser(tmp_path: Path) -> None:
    """Screenshots (copied to $OUTPOST_SCREENSHOT_DIR when set): the fleet's first page, its
    stale installs sorted by customer, and one install's page."""
    kit = HubKit()
    populate(kit)
    real = kit.store.agents()[1].agent_id  # the degraded one, with a chain gap
    fleetkit.populate(kit.store, 3000, kit.clock())
    views = {
        "fleet-3000": "/",
        "fleet-stale": "/?health=stale&sort=customer",
        "install": f"/installs/{real}",
    }
    shots = {name: tmp_path / f"{name}.png" for name in views}
    with ServedHub(SignedIn(kit.app, kit.reader)) as hub:
        dom = chromium("--dump-dom", hub.url + "/", profile=tmp_path / "dom")
        for name, path in views.items():
            made = chromium("--window-size=1400,1000", f"--screenshot={shots[name]}",
                            hub.url + path, profile=tmp_path / name)  # fmt: skip
            assert made.returncode == 0, made.stderr[-2000:]
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "of 3003" in dom.stdout
    assert "customer-00-eu-west-0000" in dom.stdout
    for shot in shots.values():
        assert shot.read_bytes().startswith(b"\x89PNG")
    target = os.environ.get("OUTPOST_SCREENSHOT_DIR")
    if target:
        for name, shot in shots.items():
            shutil.copyfile(shot, Path(target) / f"{name}.png")
