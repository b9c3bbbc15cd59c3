"""RFC 3339 UTC timestamps and short durations ("180d", "12h") used in signed documents.

Pure. Signed documents carry times as `YYYY-MM-DDTHH:MM:SSZ` strings; anything else is refused
rather than guessed at, so two verifiers never disagree about an expiry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bundle.errors import BundleError
from facts import rfc3339
from facts.rfc3339 import format_time

__all__ = ["format_time", "now_utc", "parse_duration", "parse_time"]

_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_time(text: object, field: str) -> datetime:
    """Parse `YYYY-MM-DDTHH:MM:SSZ`; raise ValueError naming `field` otherwise."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"`{field}` must be an RFC 3339 UTC time like '2027-01-01T00:00:00Z'")
    moment = rfc3339.parse_exact(text)
    if moment is None:
        raise ValueError(f"`{field}` is not an RFC 3339 UTC time: '{text}'")
    return moment


def parse_duration(text: str) -> timedelta:
    """Parse a duration like '365d', '12h' or '30m' (CLI options)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise BundleError(f"duration '{text}' must look like '180d', '12h' or '30m'")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def now_utc() -> datetime:
    """The real clock, read only by the I/O shell and the CLI."""
    return datetime.now(UTC)
