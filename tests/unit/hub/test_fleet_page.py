"""The fleet page at 3,000 installs: names from enrollment, search, filters, sorting, paging,
stale highlight, and no JavaScript.

Aspects: `outpost hub token create --customer --name` records who an install is; the page shows
that name and customer; every filter (customer, bundle version, health, last-seen age) and the
search find exactly the installs the synthetic fleet was built with; sorting and paging walk the
whole fleet; installs last seen more than three intervals ago are highlighted as stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync import report
from hub.cli import hub, open_store
from hub.sqlstore import SqlStore
from tests.unit.hub import fleetkit, hubkit
from tests.unit.hub.hubkit import HubKit, run
from wire import enrollment

N = 3000


def page(kit: HubKit, query: str = "") -> httpx.Response:
    async def go() -> httpx.Response:
        async with kit.http() as http:
            return await http.get("/" + query, headers=kit.reading())

    return run(go())


def rows(html: str) -> list[str]:
    return re.findall(r"<tr(?: class=stale)?><td><a href=\"/installs/(agt_[0-9a-f]{32})\"", html)


def shown(html: str) -> tuple[int, int]:
    found = re.search(r"Showing \d+–\d+ of (\d+) · page \d+ of (\d+)", html)
    assert found, html[:500]
    return int(found[1]), int(found[2])


@pytest.fixture(scope="module")
def big() -> HubKit:
    kit = HubKit()
    fleetkit.populate(kit.store, N, kit.clock())
    return kit


def expected(test: object) -> int:
    return sum(1 for i in range(N) if test(i))  # type: ignore[operator]


def test_the_first_page_of_3000_installs(big: HubKit) -> None:
    html = page(big).text
    assert shown(html) == (N, 60)
    assert len(rows(html)) == 50
    assert "<script" not in html
    stale = expected(fleetkit.is_stale)
    assert f"Stale<b>{stale}</b>" in html


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("?health=stale", expected(fleetkit.is_stale)),
        ("?health=never", expected(fleetkit.is_never)),
        ("?health=degraded",
         expected(lambda i: fleetkit.is_degraded(i) and not fleetkit.is_stale(i))),
        ("?customer=customer-07", expected(lambda i: i % 37 == 7)),
        ("?bundle=2.15.1", expected(lambda i: i % 3 == 2 and not fleetkit.is_never(i))),
        ("?seen=over1d", 0),
        ("?seen=15m", expected(lambda i: not fleetkit.is_stale(i) and not fleetkit.is_never(i))),
        ("?q=customer-03-us-east-0040", 1),
        ("?q=uid-00042", 1),
        ("?customer=customer-07&bundle=2.14.0", expected(lambda i: i % 37 == 7 and i % 3 == 0
                                                         and not fleetkit.is_never(i))),
    ],
)  # fmt: skip
def test_filters_and_search_find_exactly_the_matching_installs(
    big: HubKit, query: str, count: int
) -> None:
    assert shown(page(big, query).text)[0] == count


def test_stale_installs_are_highlighted(big: HubKit) -> None:
    html = page(big, "?health=stale&per=200").text
    assert html.count("<tr class=stale>") == len(rows(html)) > 0
    assert 'class="badge b-stale"' in html


def test_sorting_and_paging_walk_the_whole_fleet(big: HubKit) -> None:
    seen: list[str] = []
    for number in range(1, 16):
        seen += rows(page(big, f"?sort=customer&desc=1&per=200&page={number}").text)
    assert len(seen) == len(set(seen)) == N
    first = page(big, "?sort=customer&desc=1").text
    assert re.search(r"<td>customer-36</td>", first)
    assert "customer-00" not in first.split("<tbody>")[1]
    assert rows(page(big, "?page=61").text) == []  # past the end: empty, not an error
    assert shown(page(big, "?page=abc&per=7&sort=nope&health=bad").text) == (N, 60)


def test_a_token_names_its_install_and_the_page_shows_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    made = CliRunner().invoke(hub, ["token", "create", "--db", url, "--customer", "Initech",
                                    "--name", "initech-prod-eu", "--output", "json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)["token"]
    store = open_store(url)
    assert isinstance(store, SqlStore)
    hubkit.STORES.append(lambda: store)
    try:
        kit = HubKit()
    finally:
        hubkit.STORES.pop()
    key = Ed25519PrivateKey.generate()
    body = report.compact(enrollment.sign_enrollment(key, "uid-1", "n1", kit.clock()))
    assert kit.hub.enroll(token, body).status == 201
    html = page(kit).text
    assert "initech-prod-eu" in html
    assert "<td>Initech</td>" in html
    assert shown(page(kit, "?customer=Initech").text)[0] == 1
    store.close()
