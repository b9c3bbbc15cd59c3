"""The usage ledger's rules: which records of a report enter it, which revision wins, and where
a chain of windows has gaps.

Pure: payloads, ledger rows and `now` in; decisions out. A record enters when it is well formed
(its id matches its fields), names the install's own cluster, and its window ended no more than
`LATE_WINDOW` ago; a window in the future beyond the clock-skew allowance is refused. Records are
keyed by `record_id`: a higher `revision` replaces, an equal or lower one is a duplicate. A gap
(a window missing between two present ones of the same install, tenant and meter) is reported,
never filled.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.checks import MAX_SKEW
from wire import usage
from wire.errors import ProtocolError
from wire.usage import UsageRecord

LATE_WINDOW = timedelta(days=35)


@dataclass(frozen=True)
class LedgerRow:
    """One window of one meter for one tenant, as the ledger keeps it."""

    install_id: str
    cluster_uid: str
    record: UsageRecord
    received_at: datetime


@dataclass(frozen=True)
class Sorted:
    """A report's records: admitted, and refused with the reason."""

    admitted: tuple[UsageRecord, ...]
    refused: tuple[tuple[str, str], ...]  # (record id or "?", reason)


def admit(doc: Mapping[str, object], cluster_uid: str, now: datetime) -> Sorted:
    """The records of one verified report payload that may enter the ledger."""
    events = doc.get("usage")
    admitted: list[UsageRecord] = []
    refused: list[tuple[str, str]] = []
    for event in events if isinstance(events, list) else []:
        try:
            record = usage.from_event(event)
        except ProtocolError:
            refused.append((str(event.get("id", "?"))[:64] if isinstance(event, dict) else "?",
                            "malformed"))  # fmt: skip
            continue
        reason = refusal(record, cluster_uid, now)
        if reason:
            refused.append((record.id, reason))
        else:
            admitted.append(record)
    return Sorted(tuple(admitted), tuple(refused))


def refusal(record: UsageRecord, cluster_uid: str, now: datetime) -> str:
    """Why a record may not enter ("" when it may)."""
    if record.install != cluster_uid:
        return "wrong_install"
    if record.window_end < now - LATE_WINDOW:
        return "too_late"
    if record.window_start > now + MAX_SKEW:
        return "future"
    return ""


def wins(new: UsageRecord, old: UsageRecord | None) -> bool:
    """Whether `new` replaces what the ledger holds for its id (the highest revision wins)."""
    return old is None or new.revision > old.revision


@dataclass(frozen=True)
class Gap:
    install_id: str
    tenant: str
    meter: str
    start: datetime
    end: datetime


def gaps(rows: Iterable[LedgerRow]) -> list[Gap]:
    """Missing windows between present ones, per install, tenant and meter (window length is
    taken from the records themselves)."""
    chains: dict[tuple[str, str, str], list[UsageRecord]] = {}
    for row in rows:
        key = (row.install_id, row.record.tenant, row.record.meter)
        chains.setdefault(key, []).append(row.record)
    found: list[Gap] = []
    for (install_id, tenant, meter), records in sorted(chains.items()):
        records.sort(key=lambda r: r.window_start)
        for before, after in itertools.pairwise(records):
            if after.window_start > before.window_end:
                found.append(Gap(install_id, tenant, meter, before.window_end, after.window_start))
    return found
