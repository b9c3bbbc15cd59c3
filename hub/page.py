"""The fleet overview page: one server-rendered HTML document, no scripts.

Pure: rows and `now` in, HTML text out. Every value shown passes through `html.escape`, since
names and reasons come from customer clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from hub.fleet import Install

STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px} p.sub{color:#5b6472;margin:0 0 16px}
.cards{display:flex;gap:12px;margin-bottom:16px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{padding:6px 8px;border-bottom:1px solid #eceff3;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#19703a} .bad{color:#b42318} .warn{color:#9a6700} code{font-size:12px}
ul{margin:0;padding-left:16px}
"""

HTML = "text/html; charset=utf-8"

HEADINGS = (
    "Install", "Last seen", "Seq", "Bundle", "Data planes", "Tenants", "Applications",
    "Pods", "CPU req.", "Memory req.", "Not ready", "Notes",
)  # fmt: skip


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def ratio(pair: tuple[int, int]) -> str:
    ready, total = pair
    css = "ok" if ready == total else "bad"
    return f'<span class="{css}">{ready}/{total}</span>'


def notes(row: Install) -> str:
    flags = []
    if row.chain_gaps:
        flags.append(f'<span class="warn">{row.chain_gaps} chain gap(s)</span>')
    if row.truncated:
        flags.append('<span class="warn">truncated</span>')
    if row.dropped_total:
        flags.append(f'<span class="warn">{row.dropped_total} dropped</span>')
    return " ".join(flags)


def cells(row: Install, now: datetime) -> list[str]:
    pods, millicores, memory = row.usage
    missing = "".join(f"<li>{escape(item)}</li>" for item in row.not_ready)
    return [
        f'<a href="/installs/{escape(row.agent_id)}"><code>{escape(row.agent_id)}</code></a>'
        f"<br><small>{escape(row.cluster_uid)}</small>",
        escape(ago(row.last_seen, now)),
        f'<span class="num">{row.seq}</span>',
        escape(row.bundle_version or "—"),
        ratio(row.ready["dataplanes"]),
        ratio(row.ready["tenants"]),
        ratio(row.ready["applications"]),
        str(pods),
        f"{millicores / 1000:.1f} cores",
        f"{memory / 2**30:.1f} GiB",
        f"<ul>{missing}</ul>" if missing else '<span class="ok">all ready</span>',
        notes(row),
    ]


def card(label: str, value: str) -> str:
    return f'<div class="card">{escape(label)}<b>{escape(value)}</b></div>'


def totals(rows: Sequence[Install]) -> str:
    tenants = sum(r.ready["tenants"][1] for r in rows)
    ready = sum(r.ready["tenants"][0] for r in rows)
    apps = sum(r.ready["applications"][1] for r in rows)
    pods = sum(r.usage[0] for r in rows)
    cores = sum(r.usage[1] for r in rows) / 1000
    return "".join(
        (
            card("Installs", str(len(rows))),
            card("Tenants ready", f"{ready}/{tenants}"),
            card("Applications", str(apps)),
            card("Pods", str(pods)),
            card("CPU requested", f"{cores:.1f} cores"),
        )
    )


def render(rows: Sequence[Install], now: datetime, title: str = "Outpost fleet") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADINGS)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells(row, now)) + "</tr>" for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(HEADINGS)}">No installs have enrolled yet.</td></tr>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=sub>Signed status reports received by this hub "
        f"· rendered {escape(now.strftime('%Y-%m-%d %H:%M:%S UTC'))}</p>"
        f'<div class="cards">{totals(rows)}</div>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"
    )


def login(message: str = "") -> str:
    """The sign-in form: it posts an access token, and the hub answers with a session cookie."""
    note = f'<p class="bad">{escape(message)}</p>' if message else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Sign in · Outpost fleet</title><style>{STYLE}</style></head><body>"
        "<h1>Outpost fleet</h1><p class=sub>Sign in with an access token "
        "(<code>outpost hub access-token create</code>).</p>"
        f'{note}<form method="post" action="/login"><label>Access token '
        '<input type="password" name="token" autocomplete="off" size="48" required></label> '
        '<button type="submit">Sign in</button></form></body></html>'
    )
