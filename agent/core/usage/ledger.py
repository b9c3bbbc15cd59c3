"""The agent's running usage account: integrate items over fixed windows, close them as records.

Pure: the state, the items listed now, the tenants present and `now` in; the next state out. The
state is the agent's memory and is checkpointed in the cluster after every visit, so:
- an item is credited from where it was last counted (`counted`) to now or its end, never twice:
  the counted positions and the sums they produced are saved together, in one write;
- after a restart (even kill -9) the next visit credits running items for the time in between;
  only items that ended and vanished while nobody looked lose the time since their last visit;
- a window closes at the first visit after its end; its records wait in `pending` until they are
  spooled in a report. Credits that arrive for a window already closed (a completed pod seen
  late) re-issue its record with the next `revision`, while the window is still remembered.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.core.usage import windows
from agent.core.usage.meters import CORE_METERS, Item, unit_of
from wire.usage import UsageRecord

Key = tuple[datetime, str, str]  # (window start, tenant, meter)
REVISE_WINDOWS = 3
FORGET_AFTER = timedelta(minutes=15)
"""Closed windows remembered for re-issue; credits older than that are counted as dropped."""


@dataclass
class UsageState:
    """What survives restarts (see `agent.core.usage.codec` for its JSON form)."""

    window_seconds: int
    install: str = ""
    origin: datetime | None = None
    closed_before: datetime | None = None
    last_visit: datetime | None = None
    counted: dict[str, datetime] = field(default_factory=dict)
    open: dict[Key, float] = field(default_factory=dict)
    present: dict[datetime, set[str]] = field(default_factory=dict)
    issued: dict[Key, tuple[float, int]] = field(default_factory=dict)
    pending: dict[str, UsageRecord] = field(default_factory=dict)
    late_dropped: float = 0.0

    def accumulating(self) -> dict[tuple[str, str], float]:
        """(tenant, meter) → quantity credited to windows still open (for /metrics)."""
        out: dict[tuple[str, str], float] = {}
        for (_, tenant, meter), value in self.open.items():
            out[(tenant, meter)] = out.get((tenant, meter), 0.0) + value
        return out


def visit(
    state: UsageState, items: Iterable[Item], tenants: Iterable[str], now: datetime
) -> UsageState:
    """Credit every item up to `now`, forget vanished items, close the windows that ended."""
    nxt = copy.deepcopy(state)
    size = nxt.window_seconds
    if nxt.origin is None:
        # History before the first visit is not billed: metering starts in the current window.
        nxt.origin = nxt.closed_before = windows.window_of(now, size)
    assert nxt.closed_before is not None
    seen: set[str] = set()
    revised: set[Key] = set()
    for item in items:
        seen.add(item.key)
        _credit(nxt, item, now, revised)
    # An item missing from one listing (a failed list, a label briefly off) keeps its position for
    # a while, so it is not credited again from its start when it shows up again.
    nxt.counted = {k: v for k, v in nxt.counted.items() if k in seen or now - v < FORGET_AFTER}
    nxt.present.setdefault(windows.window_of(now, size), set()).update(tenants)
    _reissue(nxt, revised)
    _close(nxt, now)
    nxt.last_visit = now
    return nxt


def _credit(state: UsageState, item: Item, now: datetime, revised: set[Key]) -> None:
    assert state.origin is not None
    begin = max(item.start, state.origin, state.counted.get(item.key, item.start))
    end = min(item.end or now, now)
    if end <= begin:
        return
    assert state.closed_before is not None
    for window, seconds in windows.split(begin, end, state.window_seconds):
        if window >= state.closed_before:
            state.present.setdefault(window, set()).add(item.tenant)
        for meter, rate in item.rates.items():
            _add(state, (window, item.tenant, meter), rate * seconds, revised)
    state.counted[item.key] = end


def _add(state: UsageState, key: Key, amount: float, revised: set[Key]) -> None:
    assert state.closed_before is not None
    if key[0] >= state.closed_before:
        state.open[key] = state.open.get(key, 0.0) + amount
        return
    oldest = state.closed_before - timedelta(seconds=REVISE_WINDOWS * state.window_seconds)
    if key[0] < oldest:
        state.late_dropped += amount
        return
    quantity, revision = state.issued.get(key, (0.0, 0))
    state.issued[key] = (quantity + amount, revision)
    revised.add(key)


def _reissue(state: UsageState, revised: set[Key]) -> None:
    """One new revision per record touched by late credits in this visit."""
    for key in revised:
        quantity, revision = state.issued[key]
        state.issued[key] = (quantity, revision + 1)
        _queue(state, key, quantity, revision + 1)


def _queue(state: UsageState, key: Key, quantity: float, revision: int) -> None:
    window, tenant, meter = key
    end = window + timedelta(seconds=state.window_seconds)
    record = UsageRecord(
        state.install, tenant, meter, unit_of(meter), window, end, quantity, revision
    )
    state.pending[record.id] = record  # a newer revision replaces one not yet spooled


def _close(state: UsageState, now: datetime) -> None:
    """Turn every window that ended before `now` into records (zero for tenants present)."""
    assert state.closed_before is not None
    size = timedelta(seconds=state.window_seconds)
    ended = sorted({k[0] for k in state.open} | set(state.present))
    for window in (w for w in ended if w + size <= now):
        keys = {k for k in state.open if k[0] == window}
        keys |= {(window, t, m) for t in state.present.get(window, ()) for m in CORE_METERS}
        for key in sorted(keys):
            quantity = state.open.pop(key, 0.0)
            state.issued[key] = (quantity, 1)
            _queue(state, key, quantity, 1)
        state.present.pop(window, None)
    state.closed_before = max(state.closed_before, windows.window_of(now, state.window_seconds))
    oldest = state.closed_before - REVISE_WINDOWS * size
    state.issued = {k: v for k, v in state.issued.items() if k[0] >= oldest}


def take_pending(state: UsageState, limit: int) -> tuple[UsageRecord, ...]:
    """Up to `limit` pending records, oldest window first (what the next report carries)."""
    ordered = sorted(state.pending.values(), key=lambda r: (r.window_start, r.tenant, r.meter))
    return tuple(ordered[:limit])


def acknowledge(state: UsageState, spooled: Iterable[UsageRecord]) -> UsageState:
    """Drop pending records now inside a spooled report (unless a newer revision replaced one)."""
    nxt = copy.deepcopy(state)
    for record in spooled:
        waiting = nxt.pending.get(record.id)
        if waiting is not None and waiting.revision <= record.revision:
            del nxt.pending[record.id]
    return nxt


def restore(state: UsageState, records: Iterable[UsageRecord]) -> UsageState:
    """Put back records of reports the spool had to drop, so the next report carries them."""
    nxt = copy.deepcopy(state)
    for record in records:
        waiting = nxt.pending.get(record.id)
        if waiting is None or waiting.revision < record.revision:
            nxt.pending[record.id] = record
    return nxt


def resize(state: UsageState, seconds: int, now: datetime) -> UsageState:
    """A new window length: issue what the old windows hold now, then count in the new ones."""
    if seconds == state.window_seconds or state.origin is None:
        return UsageState(seconds, state.install) if state.origin is None else state
    nxt = copy.deepcopy(state)
    for key in sorted(nxt.open):
        _queue(nxt, key, nxt.open[key], 1)
    nxt.window_seconds = seconds
    nxt.open, nxt.present, nxt.issued = {}, {}, {}
    nxt.closed_before = windows.window_of(now, seconds)
    nxt.origin = max(nxt.origin or now, nxt.closed_before)
    return nxt


def resume(stored: UsageState, written: UsageState | None, memory: UsageState | None) -> UsageState:
    """Where the next visit starts: the account in memory when the checkpoint holds what this
    process last wrote (or read), apart from records a report took or gave back meanwhile; else
    the checkpoint itself (a new process, or another writer that metered since).

    Between checkpoints, memory holds progress nothing else has: a pod that ends before the next
    checkpoint is still credited up to its last visit.
    """
    if written is None or memory is None:
        return stored
    if stored.last_visit != written.last_visit or stored.counted != written.counted:
        return stored
    taken = written.pending.keys() - stored.pending.keys()
    given = {k: r for k, r in stored.pending.items() if k not in written.pending}
    nxt = copy.deepcopy(memory)
    nxt.pending = {k: r for k, r in nxt.pending.items() if k not in taken}
    for key, record in given.items():
        if key not in nxt.pending or nxt.pending[key].revision < record.revision:
            nxt.pending[key] = record
    return nxt


def urgent(stored: UsageState, after: UsageState) -> bool:
    """Whether the visit must be written now: it issued records (a report reads them from the
    checkpoint). Everything else waits for the periodic checkpoint; a kill -9 meanwhile costs
    only the time of pods that ended since the last one (running pods are credited on)."""
    return after.pending != stored.pending or after.window_seconds != stored.window_seconds
