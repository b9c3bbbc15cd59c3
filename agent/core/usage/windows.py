"""Fixed accounting windows: epoch-aligned, `seconds` long.

Pure arithmetic on aware datetimes. A window is named by its start; an interval of time is cut at
window boundaries so each piece is credited to the window it lies in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_of(moment: datetime, seconds: int) -> datetime:
    """The start of the window containing `moment`."""
    offset = int((moment - EPOCH).total_seconds() // seconds) * seconds
    return EPOCH + timedelta(seconds=offset)


def split(start: datetime, end: datetime, seconds: int) -> Iterator[tuple[datetime, float]]:
    """(window start, seconds inside it) for each window the interval [start, end) touches."""
    cursor = start
    while cursor < end:
        window = window_of(cursor, seconds)
        stop = min(end, window + timedelta(seconds=seconds))
        yield window, (stop - cursor).total_seconds()
        cursor = stop
