"""Server-rendered SVG charts for the hub's pages: no scripts, no external assets.

Pure: numbers in, SVG text out. Every label passes through `html.escape` (tenant names come
from customer clusters). Two charts: lines over time (health), stacked bars per day (usage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563", "#be185d")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 230, 48, 40, 12


def _frame(body: str, label: str, y_max: float, unit: str) -> str:
    """The SVG element with a y axis (0 and max) and a baseline."""
    plot_h = HEIGHT - BOTTOM - TOP
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'style="background:#fff;border:1px solid #dde1e7;border-radius:6px">'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" '
        'stroke="#9aa3af"/>'
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">'
        f"{escape(_num(y_max))}</text>"
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>'
        f'<text x="4" y="{TOP + plot_h / 2}" font-size="11" fill="#5b6472">{escape(unit)}</text>'
        f"{body}</svg>"
    )


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _legend(names: Sequence[str]) -> str:
    items = []
    for index, name in enumerate(names):
        x = LEFT + (index % 6) * 110
        y = HEIGHT - 8
        color = PALETTE[index % len(PALETTE)]
        items.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name[:14])}</text>'
        )
    return "".join(items)


def lines(series: Mapping[str, Sequence[tuple[datetime, float]]], unit: str, label: str) -> str:
    """One polyline per series over a shared time axis (empty series are left out)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return _frame('<text x="60" y="100" font-size="13">No reports yet</text>', label, 1, unit)
    t0 = min(t for t, _ in points).timestamp()
    span = max(1.0, max(t for t, _ in points).timestamp() - t0)
    y_max = max(1.0, *(v for _, v in points))
    plot_w, plot_h = WIDTH - LEFT - 16, HEIGHT - BOTTOM - TOP
    body = []
    for index, values in enumerate(series.values()):
        coords = " ".join(
            f"{LEFT + (t.timestamp() - t0) / span * plot_w:.1f},"
            f"{TOP + plot_h - v / y_max * plot_h:.1f}"
            for t, v in values
        )
        color = PALETTE[index % len(PALETTE)]
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
    return _frame("".join(body) + _legend(list(series)), label, y_max, unit)


def stacked_bars(
    days: Sequence[date], values: Mapping[tuple[date, str], float], unit: str, label: str
) -> str:
    """One bar per day, stacked by tenant (tenants ordered by total, largest at the bottom)."""
    totals: dict[str, float] = {}
    for (_, tenant), value in values.items():
        totals[tenant] = totals.get(tenant, 0.0) + value
    tenants = sorted(totals, key=lambda t: (-totals[t], t))
    if not days or not tenants:
        return _frame('<text x="60" y="100" font-size="13">No usage yet</text>', label, 1, unit)
    per_day = [sum(values.get((d, t), 0.0) for t in tenants) for d in days]
    y_max = max(*per_day, 1e-9)
    plot_w, plot_h = WIDTH - LEFT - 16, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(days)
    body = []
    for i, day in enumerate(days):
        x, base = LEFT + i * slot + slot * 0.15, float(TOP + plot_h)
        for index, tenant in enumerate(tenants):
            h = values.get((day, tenant), 0.0) / y_max * plot_h
            if h > 0:
                color = PALETTE[index % len(PALETTE)]
                body.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{color}"><title>{escape(tenant)} '
                    f"{escape(day.isoformat())}: {values[(day, tenant)]:.3f} {escape(unit)}"
                    "</title></rect>"
                )
                base -= h
        body.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 12}" font-size="10" '
            f'text-anchor="middle">{escape(day.strftime("%m-%d"))}</text>'
        )
    return _frame("".join(body) + _legend(tenants[: len(PALETTE)]), label, y_max, unit)
