"""Prometheus metrics and the liveness endpoint, served by aiohttp (the agent's HTTP stack).

I/O: one HTTP server on the metrics host/port with `/metrics` (text exposition format 0.0.4) and
`/healthz` (503 when the watches or the work queue have stalled). The registry is a few
in-memory counters kept by the reconcile path; no client library is needed for that.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Histogram:
    """Cumulative buckets per label set."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, label: str, value: float) -> None:
        """Count one observation in its bucket."""
        row = self.counts.setdefault(label, [0] * (len(self.buckets) + 1))
        row[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[label] = self.sums.get(label, 0.0) + value


@dataclass
class Metrics:
    """Everything /metrics shows; mutated only from the event loop."""

    reconciles: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=Histogram)
    readiness: dict[tuple[str, str], str] = field(default_factory=dict)
    last_watch_event: float = field(default_factory=time.monotonic)

    def record(self, kind: str, result: str, seconds: float) -> None:
        """Count one reconcile and its duration."""
        self.reconciles[(kind, result)] += 1
        if result == "error":
            self.errors[kind] += 1
        self.latency.observe(kind, seconds)

    def set_ready(self, kind: str, name: str, status: str | None) -> None:
        """Set the Ready gauge of one object (None forgets it)."""
        if status is None:
            self.readiness.pop((kind, name), None)
        else:
            self.readiness[(kind, name)] = status

    def watched(self) -> None:
        """Note that a watch event arrived (liveness)."""
        self.last_watch_event = time.monotonic()


def render(metrics: Metrics, gauges: dict[str, float]) -> str:
    """The text exposition of every metric."""
    lines = ["# TYPE outpost_reconcile_total counter"]
    lines += [
        f'outpost_reconcile_total{{kind="{k}",result="{r}"}} {n}'
        for (k, r), n in sorted(metrics.reconciles.items())
    ]
    lines.append("# TYPE outpost_reconcile_errors_total counter")
    lines += [
        f'outpost_reconcile_errors_total{{kind="{k}"}} {n}'
        for k, n in sorted(metrics.errors.items())
    ]
    lines.append("# TYPE outpost_reconcile_duration_seconds histogram")
    for kind, row in sorted(metrics.latency.counts.items()):
        total = 0
        for bound, count in zip((*metrics.latency.buckets, float("inf")), row, strict=True):
            total += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(
                f'outpost_reconcile_duration_seconds_bucket{{kind="{kind}",le="{le}"}} {total}'
            )
        lines.append(
            f'outpost_reconcile_duration_seconds_sum{{kind="{kind}"}} '
            f"{metrics.latency.sums[kind]:.6f}"
        )
        lines.append(f'outpost_reconcile_duration_seconds_count{{kind="{kind}"}} {total}')
    lines.append("# TYPE outpost_objects gauge")
    by_ready = Counter((kind, status) for (kind, _), status in metrics.readiness.items())
    lines += [
        f'outpost_objects{{kind="{k}",ready="{s}"}} {n}' for (k, s), n in sorted(by_ready.items())
    ]
    typed: set[str] = set()
    for name, value in sorted(gauges.items()):
        base = name.split("{", 1)[0]
        if base not in typed:
            typed.add(base)
            lines.append(f"# TYPE {base} {'counter' if base.endswith('_total') else 'gauge'}")
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


Probe = Callable[[], str]
"""Returns "" when healthy, else why not."""


def build_app(
    metrics: Metrics, gauges: Callable[[], dict[str, float]], probe: Probe
) -> web.Application:
    """The /metrics and /healthz web app."""

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(
            text=render(metrics, gauges()), content_type="text/plain", charset="utf-8"
        )

    async def healthz_view(_: web.Request) -> web.Response:
        problem = probe()
        return web.Response(status=503 if problem else 200, text=problem or "ok")

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz_view)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; returns the runner to `cleanup()` on shutdown."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
