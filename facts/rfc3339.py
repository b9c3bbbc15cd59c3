"""RFC 3339 times, formatted and parsed in one place for every package.

Pure. Two precisions: seconds (`2027-01-01T00:00:00Z`, as Kubernetes writes condition times and
as signed documents carry expiries) and microseconds (report and import stamps, which order
events closer together than a second). Parsing is lenient about precision and zone spelling;
what a caller does with an unreadable time (refuse, or treat as oldest) is its own policy.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime, *, fraction: bool = False) -> str:
    """An aware datetime as RFC 3339 UTC, with microseconds when `fraction`."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(_MICROSECONDS if fraction else _SECONDS)


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 time as an aware datetime; None when `text` is not one (naive means UTC)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_exact(text: object) -> datetime | None:
    """Only the strict `YYYY-MM-DDTHH:MM:SSZ` form signed documents use; None otherwise."""
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    try:
        return datetime.strptime(text, _SECONDS).replace(tzinfo=UTC)
    except ValueError:
        return None
