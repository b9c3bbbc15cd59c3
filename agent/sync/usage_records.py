"""Usage records on their way out: the store seam the sync cycle drains, and reading records
back out of spooled envelopes.

Pure. The cycle acknowledges the records a spooled report carries and restores those of
reports the bounded spool drops, so a long hub outage delays records but never loses them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Protocol

from wire import usage
from wire.errors import ProtocolError
from wire.usage import UsageRecord

MAX_RECORDS_PER_REPORT = 250
"""About 120 KiB of records: a report stays under its 256 KiB cap with room for the rest."""


class UsageStore(Protocol):
    """Where closed-window records wait (the usage checkpoint ConfigMap, or memory)."""

    async def pending(self, limit: int) -> tuple[UsageRecord, ...]:
        """Closed records not yet in a report, at most `limit`."""

    async def acknowledge(self, records: Iterable[UsageRecord]) -> None:
        """Mark records as sent."""

    async def restore(self, records: Iterable[UsageRecord]) -> None:
        """Give records back."""


def records_in(envelopes: Iterable[bytes]) -> list[UsageRecord]:
    """The usage records inside spooled report envelopes (unreadable entries are skipped)."""
    found: list[UsageRecord] = []
    for line in envelopes:
        try:
            payload = json.loads(base64.b64decode(json.loads(line)["payload"]))
            found.extend(usage.from_event(e) for e in payload.get("usage", []))
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, ProtocolError):
            continue
    return found
