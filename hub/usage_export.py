"""The usage ledger written out: CSV, JSON (with gaps), and CloudEvents NDJSON for OpenMeter.

Pure: ledger rows in, text out. Quantities are printed with six decimals, the precision the agent
sends. OpenMeter deduplicates on (source, id), so each window is one event whose id is the
record id: export windows once they have settled (a revision after that would be ignored there).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from facts import rfc3339
from hub.ledger import Gap, LedgerRow, gaps
from wire.usage import EVENT_TYPE, SPEC_VERSION

CSV_HEADER = (
    "install_id", "cluster_uid", "tenant", "meter", "unit", "window_start", "window_end",
    "quantity", "record_id", "revision",
)  # fmt: skip


def row_doc(row: LedgerRow) -> dict[str, object]:
    """One ledger row as JSON."""
    record = row.record
    return {
        "install_id": row.install_id,
        "cluster_uid": row.cluster_uid,
        "tenant": record.tenant,
        "meter": record.meter,
        "unit": record.unit,
        "window_start": rfc3339.format_time(record.window_start),
        "window_end": rfc3339.format_time(record.window_end),
        "quantity": round(record.quantity, 6),
        "record_id": record.id,
        "revision": record.revision,
    }


def to_csv(rows: Sequence[LedgerRow]) -> str:
    """The header line exactly as documented, then one line per window."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        doc = row_doc(row)
        doc["quantity"] = f"{row.record.quantity:.6f}"
        writer.writerow([doc[name] for name in CSV_HEADER])
    return out.getvalue()


def gap_doc(gap: Gap) -> dict[str, object]:
    """One gap as JSON."""
    return {
        "install_id": gap.install_id,
        "tenant": gap.tenant,
        "meter": gap.meter,
        "missing_from": rfc3339.format_time(gap.start),
        "missing_to": rfc3339.format_time(gap.end),
    }


def to_json(rows: Sequence[LedgerRow]) -> dict[str, object]:
    """Records and the gaps between them (shown, never filled)."""
    return {"records": [row_doc(r) for r in rows], "gaps": [gap_doc(g) for g in gaps(rows)]}


def to_openmeter(rows: Sequence[LedgerRow]) -> str:
    """One CloudEvents 1.0 JSON object per line: `type` selects the OpenMeter meter, `subject`
    is the tenant (the customer), `data.quantity` is the value to sum."""
    lines = []
    for row in rows:
        record = row.record
        event = {
            "specversion": SPEC_VERSION,
            "type": EVENT_TYPE,
            "id": record.id,
            "source": row.install_id,
            "subject": record.tenant,
            "time": rfc3339.format_time(record.window_start),
            "datacontenttype": "application/json",
            "data": {
                "meter": record.meter,
                "unit": record.unit,
                "quantity": round(record.quantity, 6),
                "window_start": rfc3339.format_time(record.window_start),
                "window_end": rfc3339.format_time(record.window_end),
                "revision": record.revision,
                "cluster_uid": row.cluster_uid,
            },
        }
        lines.append(json.dumps(event, separators=(",", ":"), sort_keys=True))
    return "".join(line + "\n" for line in lines)
