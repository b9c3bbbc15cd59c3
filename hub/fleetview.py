"""What part of the fleet the page shows: search, filters, sort order and page, from the query.

Pure: query parameters, rows and `now` in; the selected page of rows out. Every parameter is
optional and bounded; an unknown value falls back to the default rather than failing, since
the query comes from a link or a form a person edits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from hub.fleet import Install

# The agent's default report interval (chart value hub.intervalSeconds); stale after three.
REPORT_INTERVAL = timedelta(seconds=300)
STALE_AFTER = 3 * REPORT_INTERVAL
HEALTHS = ("ok", "degraded", "stale", "never")
# Last-seen age filters: name -> (at least, less than).
AGES: dict[str, tuple[timedelta, timedelta]] = {
    "15m": (timedelta(0), timedelta(minutes=15)),
    "1h": (timedelta(0), timedelta(hours=1)),
    "1d": (timedelta(0), timedelta(days=1)),
    "over1d": (timedelta(days=1), timedelta.max),
}
SORTS: dict[str, Callable[[Install], object]] = {
    "name": lambda r: r.title.lower(),
    "customer": lambda r: (r.customer.lower(), r.title.lower()),
    "bundle": lambda r: (r.bundle_version, r.title.lower()),
    "seen": lambda r: r.last_seen.timestamp() if r.last_seen else 0.0,
    "health": lambda r: (r.health, r.title.lower()),
    "gaps": lambda r: r.chain_gaps,
}
PER_PAGE = (25, 50, 100, 200)


def stale(row: Install, now: datetime) -> bool:
    """Last seen more than three report intervals ago (an install never seen is not 'stale')."""
    return row.last_seen is not None and now - row.last_seen > STALE_AFTER


@dataclass(frozen=True)
class FleetQuery:
    q: str = ""
    customer: str = ""
    bundle: str = ""
    health: str = ""
    seen: str = ""
    sort: str = "name"
    desc: bool = False
    page: int = 1
    per: int = 50

    @classmethod
    def parse(cls, query: Mapping[str, Sequence[str]]) -> FleetQuery:
        """The page's query from URL parameters (bounded, unknown values ignored)."""

        def one(name: str) -> str:
            return (query.get(name) or [""])[0].strip()[:200]

        page, per = one("page"), one("per")
        return cls(
            q=one("q"), customer=one("customer"), bundle=one("bundle"),
            health=one("health") if one("health") in HEALTHS else "",
            seen=one("seen") if one("seen") in AGES else "",
            sort=one("sort") if one("sort") in SORTS else "name",
            desc=one("desc") == "1",
            page=int(page) if page.isdigit() and len(page) < 7 and int(page) > 0 else 1,
            per=int(per) if per.isdigit() and int(per) in PER_PAGE else 50,
        )  # fmt: skip

    def link(self, **changes: object) -> str:
        """The query string of this view with some parameters changed (defaults left out)."""
        view = replace(self, **changes)  # type: ignore[arg-type]
        pairs = {k: v for k, v in vars(view).items() if v != getattr(FleetQuery(), k)}
        return "?" + urlencode({k: int(v) if isinstance(v, bool) else v for k, v in pairs.items()})


def matches(row: Install, query: FleetQuery, now: datetime) -> bool:
    """Whether an install passes the search and filters."""
    if (
        query.q
        and query.q.lower()
        not in " ".join((row.title, row.customer, row.agent_id, row.cluster_uid)).lower()
    ):
        return False
    if query.customer and row.customer != query.customer:
        return False
    if query.bundle and row.bundle_version != query.bundle:
        return False
    if query.health and health_of(row, now) != query.health:
        return False
    if query.seen:
        low, high = AGES[query.seen]
        age = now - row.last_seen if row.last_seen else timedelta.max
        return low <= age < high
    return True


def health_of(row: Install, now: datetime) -> str:
    """'stale' overrides what the install said last: its last word is too old to trust."""
    return "stale" if stale(row, now) else row.health


def select(rows: Sequence[Install], query: FleetQuery, now: datetime) -> tuple[list[Install], int]:
    """The rows of the asked page, and how many rows match in all."""
    found = [row for row in rows if matches(row, query, now)]
    found.sort(key=SORTS[query.sort], reverse=query.desc)  # type: ignore[arg-type]
    first = (query.page - 1) * query.per
    return found[first : first + query.per], len(found)
