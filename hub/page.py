"""The fleet overview page: one server-rendered HTML document, no scripts.

Pure: rows, the view's query and `now` in, HTML text out. Search, filters, sorting and paging
are plain links and a GET form, so the page works without JavaScript. Every value shown passes
through `html.escape`, since names and reasons come from customer clusters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from hub.fleet import Install
from hub.fleetview import AGES, HEALTHS, PER_PAGE, FleetQuery, health_of, select, stale

HTML = "text/html; charset=utf-8"

STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:20px 0 8px}
p.sub{color:#5b6472;margin:0 0 16px}
.cards{display:flex;gap:12px;margin-bottom:16px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{padding:6px 8px;border-bottom:1px solid #eceff3;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600} th a{color:inherit} td.num{text-align:right}
.ok{color:#19703a} .bad{color:#b42318} .warn{color:#9a6700} code{font-size:12px}
tr.stale td{background:#fff4e5} .badge{border-radius:4px;padding:1px 6px;font-size:12px}
.b-ok{background:#e3f4e8;color:#19703a} .b-degraded{background:#fde8e7;color:#b42318}
.b-stale{background:#ffe9c2;color:#8a4b00} .b-never{background:#eceff3;color:#5b6472}
form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin-bottom:12px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#5b6472}
.pager{margin:10px 0;color:#5b6472} .pager a{margin:0 6px}
ul{margin:0;padding-left:16px} a{color:#1f5fbf;text-decoration:none}
"""

COLUMNS = (
    ("Install", "name"), ("Customer", "customer"), ("Health", "health"), ("Last seen", "seen"),
    ("Bundle", "bundle"), ("Data planes", ""), ("Tenants", ""), ("Applications", ""),
    ("Pods", ""), ("CPU req.", ""), ("Memory req.", ""), ("Not ready", ""), ("Notes", "gaps"),
)  # fmt: skip


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago, in words ('never' for no time)."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def ratio(pair: tuple[int, int]) -> str:
    """ready/total, green when all are ready."""
    ready, total = pair
    css = "ok" if ready == total else "bad"
    return f'<span class="{css}">{ready}/{total}</span>'


def badge(health: str) -> str:
    """A health badge."""
    return f'<span class="badge b-{escape(health)}">{escape(health)}</span>'


def notes(row: Install) -> str:
    """Chain gaps, truncation and staleness flags of an install."""
    flags = []
    if row.chain_gaps:
        flags.append(f'<span class="warn">{row.chain_gaps} chain gap(s)</span>')
    if row.truncated:
        flags.append('<span class="warn">truncated</span>')
    if row.dropped_total:
        flags.append(f'<span class="warn">{row.dropped_total} dropped</span>')
    return " ".join(flags)


def cells(row: Install, now: datetime) -> list[str]:
    """One install's table cells."""
    pods, millicores, memory = row.usage
    missing = "".join(f"<li>{escape(item)}</li>" for item in row.not_ready)
    return [
        f'<a href="/installs/{escape(row.agent_id)}">{escape(row.title)}</a><br>'
        f"<small><code>{escape(row.agent_id)}</code> {escape(row.cluster_uid)}</small>",
        escape(row.customer or "—"),
        badge(health_of(row, now)),
        escape(ago(row.last_seen, now)) + f"<br><small>seq {row.seq}</small>",
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
    """A summary card."""
    return f'<div class="card">{escape(label)}<b>{escape(value)}</b></div>'


def totals(rows: Sequence[Install], now: datetime) -> str:
    """The fleet totals above the table."""
    tenants = sum(r.ready["tenants"][1] for r in rows)
    ready = sum(r.ready["tenants"][0] for r in rows)
    cores = sum(r.usage[1] for r in rows) / 1000
    return "".join(
        (
            card("Installs", str(len(rows))),
            card("Stale", str(sum(stale(r, now) for r in rows))),
            card("Degraded", str(sum(r.health == "degraded" for r in rows))),
            card("Tenants ready", f"{ready}/{tenants}"),
            card("Applications", str(sum(r.ready["applications"][1] for r in rows))),
            card("Pods", str(sum(r.usage[0] for r in rows))),
            card("CPU requested", f"{cores:.1f} cores"),
        )
    )


def options(name: str, label: str, values: Iterable[str], chosen: str) -> str:
    """A select box of a filter."""
    items = "".join(
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(v or "any")}'
        "</option>"
        for v in ["", *values]
    )
    return f'<label>{escape(label)}<select name="{name}">{items}</select></label>'


def filters(rows: Sequence[Install], query: FleetQuery) -> str:
    """The search and filter form (a GET form: no JavaScript needed)."""
    customers = sorted({r.customer for r in rows if r.customer})
    bundles = sorted({r.bundle_version for r in rows if r.bundle_version})
    return (
        '<form class="filters" method="get" action="/">'
        f'<label>Search<input type="search" name="q" value="{escape(query.q)}" '
        'placeholder="name, customer, id, cluster"></label>'
        + options("customer", "Customer", customers[:500], query.customer)
        + options("bundle", "Bundle", bundles[:200], query.bundle)
        + options("health", "Health", HEALTHS, query.health)
        + options("seen", "Last seen within", AGES, query.seen)
        + options("per", "Per page", [str(p) for p in PER_PAGE], str(query.per))
        + f'<input type="hidden" name="sort" value="{escape(query.sort)}">'
        + '<button type="submit">Apply</button> <a href="/">Reset</a></form>'
    )


def heading(label: str, key: str, query: FleetQuery) -> str:
    """A sortable column heading."""
    if not key:
        return f"<th>{escape(label)}</th>"
    desc = not query.desc if query.sort == key else False
    arrow = (" ▾" if query.desc else " ▴") if query.sort == key else ""
    href = escape(query.link(sort=key, desc=desc, page=1))
    return f'<th><a href="{href}">{escape(label)}{arrow}</a></th>'


def pager(query: FleetQuery, total: int) -> str:
    """The page links."""
    pages = max(1, -(-total // query.per))
    first = (query.page - 1) * query.per + 1 if total else 0
    last = min(total, query.page * query.per)
    prev = (f'<a href="{escape(query.link(page=query.page - 1))}">‹ Prev</a>'
            if query.page > 1 else "")  # fmt: skip
    nxt = (f'<a href="{escape(query.link(page=query.page + 1))}">Next ›</a>'
           if query.page < pages else "")  # fmt: skip
    return (
        f'<div class="pager">Showing {first}–{last} of {total} · page {min(query.page, pages)} '
        f"of {pages} {prev}{nxt}</div>"
    )


def document(title: str, body: str) -> str:
    """A whole HTML page."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def render(
    rows: Sequence[Install],
    now: datetime,
    title: str = "Outpost fleet",
    query: FleetQuery | None = None,
) -> str:
    """The overview: fleet totals, the filter form, and one page of the matching installs."""
    query = query or FleetQuery()
    shown, total = select(rows, query, now)
    head = "".join(heading(label, key, query) for label, key in COLUMNS)
    body = "".join(
        f"<tr{' class=stale' if stale(row, now) else ''}>"
        + "".join(f"<td>{cell}</td>" for cell in cells(row, now))
        + "</tr>"
        for row in shown
    )
    if not shown:
        empty = "No installs have enrolled yet." if not rows else "No install matches."
        body = f'<tr><td colspan="{len(COLUMNS)}">{empty}</td></tr>'
    return document(
        title,
        f"<h1>{escape(title)}</h1><p class=sub>Signed status reports received by this hub "
        f"· rendered {escape(now.strftime('%Y-%m-%d %H:%M:%S UTC'))} · "
        '<form method="post" action="/logout" style="display:inline">'
        '<button type="submit">Sign out</button></form></p>'
        f'<div class="cards">{totals(rows, now)}</div>{filters(rows, query)}'
        f"{pager(query, total)}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        f"</table>{pager(query, total)}",
    )


def login(message: str = "") -> str:
    """The sign-in form: it posts an access token, and the hub answers with a session cookie."""
    note = f'<p class="bad">{escape(message)}</p>' if message else ""
    return document(
        "Sign in · Outpost fleet",
        "<h1>Outpost fleet</h1><p class=sub>Sign in with an access token "
        "(<code>outpost hub access-token create</code>).</p>"
        f'{note}<form method="post" action="/login"><label>Access token '
        '<input type="password" name="token" autocomplete="off" size="48" required></label> '
        '<button type="submit">Sign in</button></form>',
    )
