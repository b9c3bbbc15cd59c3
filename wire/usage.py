"""Usage records: one closed window of one meter for one tenant, as a CloudEvents-style object.

Pure. Shared by the agent (which issues records inside its signed reports) and the hub (which
keeps the ledger). A record's id is a hash of (install, tenant, meter, window start), so a
re-issued window keeps its id and only its `revision` grows; billing systems deduplicate on it.

    {"specversion": "1.0", "id": "<record id>", "source": "<agent id>", "subject": "<tenant>",
     "time": "<window end>", "type": "dev.outpost.usage.v1", "datacontenttype": "application/json",
     "data": {"meter", "unit", "window_start", "window_end", "quantity", "revision"}}
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from facts import rfc3339
from wire.errors import ProtocolError

__all__ = ["ProtocolError"]

EVENT_TYPE = "dev.outpost.usage.v1"
SPEC_VERSION = "1.0"
METER_PATTERN = re.compile(
    r"^[a-z][a-z0-9_]{0,62}(:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?:[a-z][a-z0-9_]{0,62})?$"
)
TENANT_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
ID_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_QUANTITY = 1e18


def record_id(install: str, tenant: str, meter: str, window_start: datetime) -> str:
    """The idempotency key of a window: the same for every revision of it."""
    parts = (install, tenant, meter, rfc3339.format_time(window_start))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class UsageRecord:
    """One closed window of one meter for one tenant."""

    install: str
    tenant: str
    meter: str
    unit: str
    window_start: datetime
    window_end: datetime
    quantity: float
    revision: int = 1

    @property
    def id(self) -> str:
        return record_id(self.install, self.tenant, self.meter, self.window_start)

    def to_event(self, source: str) -> dict[str, object]:
        """The CloudEvents-compatible object carried in a report; `source` is the agent id."""
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": source,
            "subject": self.tenant,
            "time": rfc3339.format_time(self.window_end),
            "type": EVENT_TYPE,
            "datacontenttype": "application/json",
            "data": {
                "install": self.install,
                "meter": self.meter,
                "unit": self.unit,
                "window_start": rfc3339.format_time(self.window_start),
                "window_end": rfc3339.format_time(self.window_end),
                "quantity": round(self.quantity, 6),
                "revision": self.revision,
            },
        }


def _time(data: Mapping[str, object], name: str) -> datetime:
    value = rfc3339.parse_time(data.get(name))
    if value is None:
        raise ProtocolError(f"usage record: `data.{name}` is not an RFC 3339 time")
    return value


def _text(doc: Mapping[str, object], name: str, pattern: re.Pattern[str]) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        raise ProtocolError(f"usage record: `{name}` is missing or malformed")
    return value


def from_event(event: object) -> UsageRecord:
    """Validate one event from a report; the id must match its fields (no forged ids)."""
    if not isinstance(event, Mapping) or event.get("type") != EVENT_TYPE:
        raise ProtocolError(f"usage record: expected an object of type '{EVENT_TYPE}'")
    data = event.get("data")
    if not isinstance(data, Mapping):
        raise ProtocolError("usage record: `data` must be an object")
    quantity, revision = data.get("quantity"), data.get("revision")
    if isinstance(quantity, bool) or not isinstance(quantity, int | float):
        raise ProtocolError("usage record: `data.quantity` must be a number")
    if not math.isfinite(quantity) or not 0 <= quantity <= MAX_QUANTITY:
        raise ProtocolError("usage record: `data.quantity` is out of range")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise ProtocolError("usage record: `data.revision` must be an integer ≥ 1")
    record = UsageRecord(
        install=_text(data, "install", re.compile(r"^[-A-Za-z0-9_.]{1,128}$")),
        tenant=_text(event, "subject", TENANT_PATTERN),
        meter=_text(data, "meter", METER_PATTERN),
        unit=_text(data, "unit", re.compile(r"^[a-z_]{1,32}$")),
        window_start=_time(data, "window_start"),
        window_end=_time(data, "window_end"),
        quantity=float(quantity),
        revision=revision,
    )
    if record.window_end <= record.window_start or event.get("id") != record.id:
        raise ProtocolError("usage record: window or id does not match its fields")
    return record
