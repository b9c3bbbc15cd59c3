"""The usage state as JSON, for the checkpoint ConfigMap (compact: it is rewritten every visit).

Pure. Times are RFC 3339 strings; the three-part keys are joined with a space (tenant names and
meter names contain none). An unreadable checkpoint raises `ValueError`; the caller decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.core.usage.ledger import Key, UsageState
from facts import rfc3339
from wire import usage
from wire.errors import ProtocolError


def _t(moment: datetime) -> str:
    return rfc3339.format_time(moment, fraction=True)


def _p(text: object) -> datetime:
    moment = rfc3339.parse_time(text)
    if moment is None:
        raise ValueError(f"usage checkpoint: '{text}' is not a time")
    return moment


def _opt_t(moment: datetime | None) -> str | None:
    return _t(moment) if moment else None


def _opt_p(text: object) -> datetime | None:
    return _p(text) if text else None


def _key(key: Key) -> str:
    return f"{_t(key[0])} {key[1]} {key[2]}"


def _unkey(text: str) -> Key:
    window, tenant, meter = text.split(" ")
    return _p(window), tenant, meter


def to_dict(state: UsageState) -> dict[str, object]:
    """The checkpoint document."""
    return {
        "windowSeconds": state.window_seconds,
        "install": state.install,
        "origin": _opt_t(state.origin),
        "closedBefore": _opt_t(state.closed_before),
        "lastVisit": _opt_t(state.last_visit),
        "counted": {k: _t(v) for k, v in sorted(state.counted.items())},
        "open": {_key(k): v for k, v in sorted(state.open.items())},
        "present": {_t(w): sorted(t) for w, t in sorted(state.present.items())},
        "issued": {_key(k): list(v) for k, v in sorted(state.issued.items())},
        "pending": [r.to_event(state.install) for r in state.pending.values()],
        "lateDropped": state.late_dropped,
    }


def from_dict(doc: Mapping[str, Any]) -> UsageState:
    """Read a checkpoint back; `ValueError` when it is not one."""
    try:
        records = [usage.from_event(e) for e in doc.get("pending", [])]
        return UsageState(
            window_seconds=int(doc["windowSeconds"]),
            install=str(doc.get("install", "")),
            origin=_opt_p(doc.get("origin")),
            closed_before=_opt_p(doc.get("closedBefore")),
            last_visit=_opt_p(doc.get("lastVisit")),
            counted={str(k): _p(v) for k, v in doc.get("counted", {}).items()},
            open={_unkey(k): float(v) for k, v in doc.get("open", {}).items()},
            present={_p(w): set(t) for w, t in doc.get("present", {}).items()},
            issued={_unkey(k): (float(v[0]), int(v[1])) for k, v in doc.get("issued", {}).items()},
            pending={r.id: r for r in records},
            late_dropped=float(doc.get("lateDropped", 0.0)),
        )
    except (KeyError, TypeError, AttributeError, ProtocolError) as exc:
        raise ValueError(f"usage checkpoint is unreadable: {exc}") from exc
