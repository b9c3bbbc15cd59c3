"""The per-install analytics page: one server-rendered HTML document with inline SVG, no
scripts. Pure: an `InstallView` and `now` in, HTML out; every value is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape

from facts import rfc3339
from hub import installpage, svg
from hub.fleetview import STALE_AFTER
from hub.install_view import InstallView
from hub.page import STYLE, ago, badge

EXTRA_STYLE = "section{margin:18px 0} h2{font-size:16px;margin:0 0 8px}"


def bundle_rows(view: InstallView) -> str:
    """The bundle history table's rows."""
    if not view.bundles:
        return '<tr><td colspan="2">No reports yet.</td></tr>'
    return "".join(
        f"<tr><td>{escape(rfc3339.format_time(when))}</td><td>{escape(version)}</td></tr>"
        for when, version in reversed(view.bundles)
    )


def gap_rows(view: InstallView) -> str:
    """The usage chain's gaps, or a line saying there are none."""
    if not view.gaps:
        return (
            '<p class="ok">No gaps: every usage window between the first and last is present.</p>'
        )
    items = "".join(
        f"<li>{escape(g.tenant)} · {escape(g.meter)}: no record from "
        f"{escape(rfc3339.format_time(g.start))} to {escape(rfc3339.format_time(g.end))}</li>"
        for g in view.gaps[:50]
    )
    return f'<p class="warn">{len(view.gaps)} gap(s), shown and not filled:</p><ul>{items}</ul>'


def render(view: InstallView, now: datetime) -> str:
    """The page: header, health timeline, bundle versions, usage per tenant per day, gaps."""
    agent = view.agent
    health = svg.lines(
        {kind: points for kind, points in view.health.items() if points},
        "% Ready", "Ready share over time",
    )  # fmt: skip
    usage = svg.stacked_bars(view.days, view.usage, "core-h", "CPU core-hours per tenant per day")
    title = agent.display_name or f"Install {agent.agent_id}"
    stale = agent.last_seen is not None and now - agent.last_seen > STALE_AFTER
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>"
        f'<p><a href="/">← Fleet</a></p><h1>{escape(title)}</h1>'
        f"<p class=sub>customer {escape(agent.customer or '—')} · agent "
        f"<code>{escape(agent.agent_id)}</code> · cluster {escape(agent.cluster_uid)} · "
        f"last seen {escape(ago(agent.last_seen, now))}{badge('stale') if stale else ''} · "
        f"seq {agent.last_seq} · "
        f"{view.chain_gaps} chain gap(s) in the report history</p>"
        f"<section><h2>Health (Ready share per report)</h2>{health}</section>"
        f"<section><h2>Usage per tenant per day (CPU core-hours requested)</h2>{usage}</section>"
        f"<section><h2>Usage chain</h2>{gap_rows(view)}</section>"
        f"<section><h2>Tenants and applications (latest report)</h2>"
        f"{installpage.members(view.latest)}</section>"
        f"<section><h2>Licence</h2>{installpage.licence(view.latest)}</section>"
        f"<section><h2>What this install shares</h2>{installpage.consent(view.latest)}</section>"
        "<section><h2>Support bundles</h2>"
        f"{installpage.support_bundles(view.support_bundles)}</section>"
        "<section><h2>Bundle versions over time</h2><table><thead><tr><th>Since</th>"
        f"<th>Version</th></tr></thead><tbody>{bundle_rows(view)}</tbody></table></section>"
        "</body></html>"
    )
