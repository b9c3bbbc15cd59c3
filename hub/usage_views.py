"""The hub's usage and monitoring reads: `GET /v1/usage`, `outpost hub usage`, and `/metrics`.

Reads through `hub.usage_store.UsageLedger` and the `Hub`'s counters; renders with
`hub.usage_export`. Query times are RFC 3339; a bad one is a 400 (`Rejection`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from facts import rfc3339
from hub import usage_export
from hub.errors import Rejection
from hub.service import Hub, Reply
from hub.usage_store import UsageLedger

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "openmeter": "application/x-ndjson"}  # fmt: skip


def when(text: str, name: str) -> datetime:
    """A time parameter; 400 naming it when unreadable."""
    moment = rfc3339.parse_time(text)
    if moment is None:
        raise Rejection(400, "malformed", f"`{name}` must be an RFC 3339 time")
    return moment


def render(ledger: UsageLedger, query: Mapping[str, str]) -> tuple[str, str]:
    """(content type, body) of the ledger between `from` and `to` in the asked format."""
    output = query.get("output", "json")
    if output not in FORMATS:
        raise Rejection(400, "malformed", f"`output` must be one of {', '.join(FORMATS)}")
    if "from" not in query or "to" not in query:
        raise Rejection(400, "malformed", "`from` and `to` are required")
    rows = ledger.rows(
        when(query["from"], "from"), when(query["to"], "to"),
        query.get("install", ""), query.get("tenant", ""),
    )  # fmt: skip
    if output == "csv":
        return FORMATS[output], usage_export.to_csv(rows)
    if output == "openmeter":
        return FORMATS[output], usage_export.to_openmeter(rows)
    return FORMATS[output], json.dumps(usage_export.to_json(rows), separators=(",", ":"))


def usage_reply(hub: Hub, query: Mapping[str, Sequence[str]]) -> Reply:
    """`GET /v1/usage?from=…&to=…[&install=…][&tenant=…][&output=csv|json|openmeter]`."""
    if hub.usage is None:
        raise Rejection(501, "no_ledger", "this hub store keeps no usage ledger")
    flat = {k: v[0] for k, v in query.items() if v}
    content_type, body = render(hub.usage, flat)
    return Reply(200, body.encode(), content_type)


def metrics_text(hub: Hub, now: datetime) -> str:
    """Prometheus text: reports by outcome, usage records, last-seen age per install."""
    lines = ["# TYPE outpost_hub_reports_total counter"]
    for (what, outcome), n in sorted(hub.counts.items()):
        if what == "report":
            result, _, reason = outcome.partition(":")
            labels = f'result="{result}"' + (f',reason="{reason}"' if reason else "")
            lines.append(f"outpost_hub_reports_total{{{labels}}} {n}")
    lines.append("# TYPE outpost_hub_usage_records_total counter")
    for (what, outcome), n in sorted(hub.counts.items()):
        if what == "usage":
            lines.append(f'outpost_hub_usage_records_total{{outcome="{outcome}"}} {n}')
    lines.append("# TYPE outpost_hub_usage_ledger_rows gauge")
    for install, n in sorted((hub.usage.counts() if hub.usage else {}).items()):
        lines.append(f'outpost_hub_usage_ledger_rows{{install="{install}"}} {n}')
    lines.append("# TYPE outpost_hub_install_last_seen_age_seconds gauge")
    for agent in hub.store.agents():
        if agent.last_seen is not None:
            age = max(0.0, (now - agent.last_seen).total_seconds())
            lines.append(
                f'outpost_hub_install_last_seen_age_seconds{{install="{agent.agent_id}"}} {age:.3f}'
            )
    return "\n".join(lines) + "\n"
