"""Sections of the install page that read the latest report: tenants, applications and data
planes with their Ready status and reason, and the licence state when the agent reports one.

Pure: a report payload in, HTML out. Payloads are agent-supplied: every value is type-checked as
read (`hub.fleet` accessors) and escaped as shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from hub.fleet import count, text


def members(doc: Mapping[str, object]) -> str:
    """Tenants, applications and data planes of the latest report, with Ready and reason."""
    rows = []
    for kind in ("dataplanes", "tenants", "applications"):
        entries = doc.get(kind)
        for entry in entries[:500] if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping):
                continue
            ready = entry.get("ready") == "True"
            rows.append(
                f"<tr><td>{escape(kind[:-1])}</td><td>{escape(text(entry, 'name'))}</td>"
                f"<td>{escape(text(entry, 'tenant'))}</td>"
                f'<td class="{"ok" if ready else "bad"}">{escape(text(entry, "ready"))}</td>'
                f"<td>{escape(text(entry, 'reason'))}</td>"
                f"<td>{count(entry, 'usage', 'pods') or ''}</td></tr>"
            )
    head = "<tr><th>Kind</th><th>Name</th><th>Tenant</th><th>Ready</th><th>Reason</th>" \
           "<th>Pods</th></tr>"  # fmt: skip
    return table(head, rows, 6, "The latest report lists none.")


def licence(doc: Mapping[str, object]) -> str:
    state = doc.get("licence", doc.get("license"))
    if not isinstance(state, Mapping):
        return "<p>No licence state in the latest report.</p>"
    items = "".join(
        f"<li>{escape(str(k))}: {escape(str(v)[:200])}</li>" for k, v in list(state.items())[:20]
    )
    return f"<ul>{items}</ul>"


def table(head: str, rows: Sequence[str], width: int, empty: str) -> str:
    body = "".join(rows) or f'<tr><td colspan="{width}">{escape(empty)}</td></tr>'
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
