"""`outpost agent run`: wires the client, watches, leader election, work queue and metrics.

Every replica logs in, serves /metrics and /healthz, and watches (keeping its indexes warm).
Only the Lease holder runs the work queue and the resync loop; losing the Lease cancels them at
once. All state is in the cluster: a restart (even after kill -9) lists everything again and
converges. SIGTERM/SIGINT release the Lease so a standby takes over without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import time
from collections.abc import Awaitable
from datetime import UTC, datetime

from agent.api import API_VERSION
from agent.errors import AgentError, ConfigError, KubeError
from agent.kube.cached import CachedKube
from agent.kube.client import Kube
from agent.kube.helm import Helm
from agent.kube.kubeconfig import load_credentials
from agent.reconcilers.context import Context
from agent.reconcilers.dispatch import reconcile
from agent.runtime import watches
from agent.runtime.lease import LeaderElector
from agent.runtime.metrics import Metrics, build_app, serve
from agent.runtime.queue import WorkQueue
from agent.runtime.triggers import OWNED_KINDS, Triggers
from agent.settings import AgentSettings
from agent.support import request as support_request
from agent.sync import config as sync_config
from agent.sync.metering import Meter
from agent.sync.service import run_sync
from agent.sync.usage_cluster import KubeUsage

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


TRIM_SECONDS = 15.0
"""How often freed heap is handed back to the OS (cheap: a few milliseconds)."""
SYNC_RESTART_SECONDS = 30.0
NAMESPACE_CHECK = 8.0
"""Seconds the start-up namespace check may take (a missing namespace must exit within 10 s)."""


class Controller:
    """The leader's half: queue, resync, and the reconcile entry point."""

    def __init__(self, settings: AgentSettings, kube: Kube, helm: Helm) -> None:
        self.settings = settings
        self.kube = kube
        self.metrics = Metrics()
        self.meter: Meter | None = None
        self.queue = WorkQueue(self.handle, settings.concurrency)
        self.triggers = Triggers(self.queue.add, self.metrics.watched)
        self.informers = watches.informers(kube, self.triggers)
        self.cached = CachedKube(kube, self.informers)
        self.ctx = Context(
            kube=self.cached,
            helm=helm,
            settings=settings,
            triggers=self.triggers,
            metrics=self.metrics,
            now=lambda: datetime.now(UTC),
        )

    async def handle(self, key: str) -> float | None:
        """Reconcile one key and record how it went; seconds until the next visit, or None."""
        kind, name = key.split("/", 1)
        started = time.monotonic()
        try:
            again = await reconcile(self.ctx, kind, name)
        except Exception:
            self.metrics.record(kind, "error", time.monotonic() - started)
            raise
        self.metrics.record(kind, "requeue" if again else "success", time.monotonic() - started)
        if kind == "DataPlane" or (self.queue.busy <= 1 and not len(self.queue)):
            release_free_memory()  # after big LIST responses, or when the queue runs dry
        return again

    async def lead(self, elector: LeaderElector, warm: asyncio.Event) -> None:
        """Work while leading (once the watch cache is warm); stop the moment leadership is
        lost; forever."""
        await warm.wait()
        while True:
            await elector.leading.wait()
            work: asyncio.Future[object] = asyncio.ensure_future(
                asyncio.gather(
                    self.queue.run(), self._resync(), self._sync(), self._meter(), self._support()
                )
            )
            lost: asyncio.Future[object] = asyncio.ensure_future(elector.lost.wait())
            try:
                await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # Also when `lead` itself is cancelled (SIGTERM): the work must end here, its
                # outcome collected, before the client it uses is closed (issue 11).
                failed = work.done() and not work.cancelled() and work.exception()
                work.cancel()
                lost.cancel()
                await asyncio.gather(work, lost, return_exceptions=True)
            if failed:
                # Never spin: say why the leader's work stopped, then start it again shortly.
                log.error("the controllers stopped: %r; restarting them", failed)
                await asyncio.sleep(SYNC_RESTART_SECONDS / 10)

    async def _sync(self) -> None:
        """Signed status to the hub, on the leader only (`seq` must not fork between replicas)."""
        env = dict(self.settings.hub_env)
        token = env.get("OUTPOST_HUB_ENROLLMENT_TOKEN") or None
        config = sync_config.from_env(env)
        while True:
            # A failing hub or a bad report must never take the controllers down with it.
            try:
                await run_sync(config, token, self.kube, self.settings.namespace)
            except Exception:
                log.exception("status sync failed; restarting it in %.0f s", SYNC_RESTART_SECONDS)
            await asyncio.sleep(SYNC_RESTART_SECONDS)

    async def _support(self) -> None:
        """SupportBundleRequests in the agent namespace, on the leader only (one producer)."""
        try:
            config = sync_config.from_env(dict(self.settings.hub_env))
        except ConfigError as exc:  # status sync says so too; bundles are still produced
            log.warning("support bundles will not be uploaded: %s", exc)
            config = None
        while True:
            try:
                await support_request.serve(self.kube, self.settings.namespace, config, utc_now)
            except Exception:
                log.exception("support bundle requests failed; restarting in %.0f s",
                              SYNC_RESTART_SECONDS)  # fmt: skip
            await asyncio.sleep(SYNC_RESTART_SECONDS)

    async def _meter(self) -> None:
        """Usage metering, on the leader only (one writer of the usage checkpoint)."""
        while True:
            try:
                if self.meter is None:
                    usage = KubeUsage(self.kube, self.settings.namespace)
                    self.meter = Meter(usage, self.settings.usage_window_seconds)
                await self.meter.run()
            except Exception:
                log.exception(
                    "usage metering failed; restarting it in %.0f s", SYNC_RESTART_SECONDS
                )
            await asyncio.sleep(SYNC_RESTART_SECONDS)

    async def _resync(self) -> None:
        """The level trigger: every cached Outpost object, each resync period (no API call:
        the informers keep the cache equal to the cluster)."""
        while True:
            listed = {
                kind: [
                    o["metadata"]["name"] for o in await self.cached.list_objects(API_VERSION, kind)
                ]
                for kind in OWNED_KINDS
            }
            self.triggers.resync(listed)
            release_free_memory()
            await asyncio.sleep(self.settings.resync_seconds)

    def problem(self, elector: LeaderElector) -> str:
        """Why the liveness probe should fail ("" when healthy)."""
        now = time.monotonic()
        for informer in self.informers:
            since = informer.failing_since
            if since is not None and now - since > self.settings.stall_seconds:
                return f"the watch of {informer.what.kind} has failed for {now - since:.0f}s"
        stuck = self.queue.stalled_for() if elector.leading.is_set() else 0.0
        if stuck > self.settings.stall_seconds:
            return f"work queue made no progress for {stuck:.0f}s"
        return ""

    def gauges(self, kube: Kube, elector: LeaderElector) -> dict[str, float]:
        """Process gauges for /metrics: leadership, queue, cache, requests."""
        out = {
            "outpost_leader": float(elector.leading.is_set()),
            "outpost_queue_depth": float(len(self.queue)),
            "outpost_queue_busy": float(self.queue.busy),
            "outpost_seconds_since_watch_event": time.monotonic() - self.metrics.last_watch_event,
        }
        out.update(self.meter.gauges() if self.meter else {})
        for (verb, resource), n in kube.requests.items():
            out[f'outpost_api_requests_total{{verb="{verb}",resource="{resource}"}}'] = float(n)
        out["outpost_api_throttled_total"] = float(kube.throttled)
        out.update(self.cached.gauges())
        return out


async def check_namespace(kube: Kube, namespace: str, *, create: bool) -> None:
    """Refuse to start in a namespace that does not exist (or create it, when asked).

    An unreachable API server is not refused here: the agent keeps trying, as it does later.

    Raises:
        ConfigError: the namespace does not exist and `create` is off.
    """
    try:
        found = await asyncio.wait_for(kube.get("v1", "Namespace", namespace), NAMESPACE_CHECK)
    except (TimeoutError, KubeError) as exc:
        log.warning("could not check namespace %s yet: %s", namespace, exc or "timed out")
        return
    if found is not None:
        return
    if not create:
        raise ConfigError(
            f"namespace '{namespace}' does not exist: create it with "
            f"`kubectl create namespace {namespace}`, or pass --create-namespace"
        )
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    log.info("created namespace %s", namespace)


def release_free_memory() -> None:
    """Hand freed heap back to the OS (glibc keeps it after big LIST responses are parsed)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def _trim_memory() -> None:
    while True:
        await asyncio.sleep(TRIM_SECONDS)
        release_free_memory()


async def run(settings: AgentSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    creds = await load_credentials(settings.kubeconfig, settings.in_cluster, settings.api_server)
    kube = Kube(
        creds, qps=settings.write_qps, burst=settings.write_burst, timeout=settings.request_timeout
    )
    try:
        await check_namespace(kube, settings.namespace, create=settings.create_namespace)
    except AgentError:
        await kube.close()
        raise
    helm = Helm(settings.helm_path, dict(settings.helm_env), settings.helm_concurrency)
    controller = Controller(settings, kube, helm)
    elector = LeaderElector(
        kube,
        settings.namespace,
        settings.lease_name,
        settings.identity,
        lease_seconds=settings.lease_seconds,
        renew_seconds=settings.renew_seconds,
    )
    stop, watching = asyncio.Event(), asyncio.Event()
    _on_signals(stop)
    app = build_app(
        controller.metrics,
        lambda: controller.gauges(kube, elector),
        lambda: controller.problem(elector),
    )
    try:
        server = await serve(app, settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        raise AgentError(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc}; "
            "choose another --metrics-port"
        ) from exc
    log.info(
        "outpost agent %s started; metrics on %s:%d",
        settings.identity,
        settings.metrics_host,
        settings.metrics_port,
    )
    try:
        await _supervise(
            stop,
            [
                watches.watch(controller.informers, watching),
                elector.run(),
                controller.lead(elector, watching),
                _trim_memory(),
            ],
        )
    finally:
        await elector.release()
        await server.cleanup()
        await kube.close()


def _on_signals(stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT stop us cleanly: the jobs are cancelled, the Lease is released."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _supervise(stop: asyncio.Event, jobs: list[Awaitable[object]]) -> None:
    """Run `jobs` until `stop` is set or one of them fails (then re-raise its error)."""
    tasks: list[asyncio.Future[object]] = [asyncio.ensure_future(job) for job in jobs]
    stopper: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({*tasks, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=15)
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]
