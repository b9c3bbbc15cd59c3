"""Sections of the install page that read the latest report: tenants, applications and data
planes with their Ready status and reason, the licence state when the agent reports one, what
the install shares (consent by category), and its support bundles.

Pure: a report payload in, HTML out. Payloads are agent-supplied: every value is type-checked as
read (`hub.fleet` accessors) and escaped as shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from facts import rfc3339
from hub.fleet import count, text
from hub.support_store import SupportBundleRecord


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


LICENCE_LABELS = (("customer", "Customer"), ("ready", "Ready"), ("reason", "Reason"),
                  ("expires", "Expires"), ("tenants", "Tenants used/allowed"),
                  ("applications", "Applications used/allowed"))  # fmt: skip


def licence(doc: Mapping[str, object]) -> str:
    """The licence in force as the latest report states it (`license`, consent `versions`)."""
    state = doc.get("license")
    if not isinstance(state, Mapping):
        return "<p>No licence state in the latest report.</p>"
    items = "".join(
        f"<li>{label}: {escape(text(state, key)[:200])}</li>"
        for key, label in LICENCE_LABELS
        if text(state, key)
    )
    return f"<ul>{items}</ul>"


def consent(doc: Mapping[str, object]) -> str:
    """What the install shares and withholds, as its latest report says (`consent`)."""
    stated = doc.get("consent")
    if not isinstance(stated, Mapping):
        return "<p>The latest report does not say (an agent older than consent by category).</p>"
    lists = {
        key: [escape(v) for v in stated.get(key) or [] if isinstance(v, str)][:20]
        if isinstance(stated.get(key), list)
        else []
        for key in ("shared", "withheld")
    }
    return (
        f'<p class="ok">Shares: {", ".join(lists["shared"]) or "nothing"}</p>'
        f'<p class="warn">Withholds: {", ".join(lists["withheld"]) or "nothing"}</p>'
    )


def support_bundles(rows: Sequence[SupportBundleRecord]) -> str:
    """The install's support bundles: when, from whom, how big, what was redacted."""
    head = "<tr><th>Received</th><th>Created</th><th>From</th><th>Size</th><th>Members</th>" \
           "<th>Redactions</th><th>sha256</th></tr>"  # fmt: skip
    body = [
        f"<tr><td>{escape(rfc3339.format_time(r.received_at))}</td><td>{escape(r.created)}</td>"
        f"<td>{escape(r.source)}</td><td>{r.size}</td><td>{r.members}</td>"
        f"<td>{r.redactions}</td><td><code>{escape(r.sha256[:16])}</code></td></tr>"
        for r in rows
    ]
    return table(head, body, 7, "None uploaded.")


def table(head: str, rows: Sequence[str], width: int, empty: str) -> str:
    """An HTML table; `empty` as its only row when there are no rows."""
    body = "".join(rows) or f'<tr><td colspan="{width}">{escape(empty)}</td></tr>'
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
