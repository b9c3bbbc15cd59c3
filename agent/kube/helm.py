"""The helm CLI as asyncio subprocesses: template, upgrade --install, history, rollback, manifest.

I/O: child processes only (the helm binary from settings talks to the API server itself). At
most `concurrency` helm processes run at once and one operation per release at a time. Nothing
here waits for workloads (`--wait` is never passed): health is judged afterwards by reading the
release's objects. No `--atomic`/`--rollback-on-failure` either: a failed upgrade leaves the
previously deployed revision in place and we report it; it is never uninstalled.

Stuck releases (`pending-*` left behind by a killed helm) are recovered by `recover()`: a
pending upgrade or rollback is rolled back to the last deployed revision (helm's rollback does
not refuse a pending latest revision); a pending install with nothing ever deployed is
uninstalled, so the next reconcile installs it cleanly instead of upgrading a half-made release.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import k8syaml
from agent.errors import HelmError
from agent.kube import postrender
from refs.address import is_loopback

log = logging.getLogger(__name__)
TERM_GRACE_SECONDS = 10.0
HISTORY_MAX = "5"
PENDING = ("pending-install", "pending-upgrade", "pending-rollback")


@dataclass(frozen=True)
class Revision:
    """One line of `helm history -o json`."""

    revision: int
    status: str
    chart: str
    description: str


@dataclass(frozen=True)
class Chart:
    """Where a chart comes from: a local path, an `oci://` reference, or a name in a repository."""

    ref: str
    version: str = ""
    repo_url: str = ""

    def name(self) -> str:
        """A short name for messages: the last part of the reference, without `.tgz`."""
        return self.ref.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".tgz")

    @property
    def pinned(self) -> bool:
        """An `oci://…@sha256:…` reference: the digest names the chart, a version would only
        be a second name for it (helm resolves a version through the movable tag)."""
        return self.ref.startswith("oci://") and "@sha256:" in self.ref

    def args(self) -> list[str]:
        """The chart part of a helm command line."""
        out = [self.ref]
        if self.repo_url:
            out += ["--repo", self.repo_url]
        if self.version and not self.pinned:
            out += ["--version", self.version]
        if self.ref.startswith("oci://") and is_loopback(_oci_host(self.ref)):
            # helm 4 speaks HTTPS only unless told; our importer allows plain HTTP to loopback only.
            out.append("--plain-http")
        return out


def _oci_host(ref: str) -> str:
    netloc = ref.removeprefix("oci://").split("/", 1)[0]
    return netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc


def recovery_action(history: Sequence[Revision]) -> tuple[str, int]:
    """Pure: what to do about a release whose latest revision is pending.

    Returns ("none", 0), ("rollback", revision) or ("uninstall", 0).
    """
    if not history or history[-1].status not in PENDING:
        return ("none", 0)
    good = [r for r in history[:-1] if r.status == "deployed"] or [
        r for r in history[:-1] if r.status == "superseded"
    ]
    if history[-1].status == "pending-install" or not good:
        return ("uninstall", 0)
    return ("rollback", good[-1].revision)


class Helm:
    """Runs helm with a process cap and a lock per release."""

    def __init__(self, binary: str, env: Mapping[str, str], concurrency: int) -> None:
        self.binary = binary
        self.env = dict(env)
        self._slots = asyncio.Semaphore(concurrency)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.running: set[tuple[str, str]] = set()
        self._plugins = ""

    def lock(self, namespace: str, release: str) -> asyncio.Lock:
        """The lock serialising helm calls for one release (held around a whole visit)."""
        return self._locks.setdefault((namespace, release), asyncio.Lock())

    async def run(self, args: Sequence[str], release: tuple[str, str] | None = None) -> str:
        """Run `helm <args>` and return stdout.

        Raises:
            HelmError: helm could not be started or exited non-zero (stderr attached).
        """
        async with self._slots:
            if release:
                self.running.add(release)
            try:
                return await self._spawn(args)
            finally:
                if release:
                    self.running.discard(release)

    async def _spawn(self, args: Sequence[str]) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary,
                *args,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise HelmError(
                f"cannot run helm at {self.binary!r}: {exc}; set OUTPOST_HELM or --helm"
            ) from exc
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:
            await _terminate(proc)
            raise
        if proc.returncode != 0:
            # helm 4 logs some failures to stdout; keep both, the end is what matters
            stderr = redact((out + err).decode(errors="replace").strip())
            raise HelmError(
                f"helm {args[0]} failed: {stderr[-800:]}",
                stderr=stderr,
                returncode=proc.returncode or 0,
            )
        return out.decode(errors="replace")

    async def template(
        self,
        release: str,
        namespace: str,
        chart: Chart,
        values: Mapping[str, Any],
        images: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Render the chart without touching the cluster; the objects it would create, the
        CRDs of its `crds/` included (images relocated through `images`, see
        agent.kube.postrender)."""
        with _values_file(values) as path, self._relocating(images or {}) as extra:
            args = ["template", release, *chart.args(), "-n", namespace, "-f", path, *extra]
            args.append("--include-crds")
            return parse_manifest(await self.run(args), chart.name())

    async def upgrade_install(
        self,
        release: str,
        namespace: str,
        chart: Chart,
        values: Mapping[str, Any],
        description: str = "",
        *,
        images: Mapping[str, str] | None = None,
    ) -> None:
        """Install or upgrade without waiting; `description` goes on the release record."""
        args = ["upgrade", "--install", release, *chart.args(), "-n", namespace]
        args += [
            "--history-max",
            HISTORY_MAX,
            *(["--description", description] if description else []),
        ]
        with _values_file(values) as path, self._relocating(images or {}) as extra:
            await self.run([*args, "-f", path, *extra], (namespace, release))

    @contextlib.contextmanager
    def _relocating(self, images: Mapping[str, str]) -> Iterator[list[str]]:
        """The post-renderer arguments for a relocated chart ([] without a mapping); a refusal
        by the post-renderer is raised with its reason (helm does not show it)."""
        if not images:
            yield []
            return
        if not self._plugins:
            # Our own plugin directory (a HELM_PLUGINS from the environment is not used).
            root = Path(tempfile.mkdtemp(prefix="outpost-helm-plugins-"))
            self._plugins = str(postrender.plugin_dir(root))
            self.env["HELM_PLUGINS"] = self._plugins
        with _values_file(images) as path:
            try:
                yield ["--post-renderer", postrender.PLUGIN, "--post-renderer-args", path]
            except HelmError as exc:
                refused = Path(f"{path}.refused")
                if not refused.exists():
                    raise
                reason = refused.read_text()
                refused.unlink()
                raise HelmError(f"helm failed: {reason}", reason, exc.returncode) from exc

    async def history(self, release: str, namespace: str) -> list[Revision]:
        """The release's revisions, oldest first ([] when there is no such release)."""
        try:
            out = await self.run(["history", release, "-n", namespace, "-o", "json", "--max", "20"])
        except HelmError as exc:
            if "not found" in exc.stderr:
                return []
            raise
        rows = json.loads(out or "[]")
        return [
            Revision(
                int(r["revision"]),
                str(r.get("status", "")),
                str(r.get("chart", "")),
                str(r.get("description", "")),
            )
            for r in rows
        ]

    async def manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        """The objects a release's manifest holds."""
        return parse_manifest(await self.run(["get", "manifest", release, "-n", namespace]))

    async def rollback(self, release: str, namespace: str, revision: int) -> None:
        """Roll a release back to `revision`."""
        await self.run(["rollback", release, str(revision), "-n", namespace], (namespace, release))

    async def uninstall(self, release: str, namespace: str) -> bool:
        """Remove the release; False when there was none."""
        try:
            await self.run(["uninstall", release, "-n", namespace], (namespace, release))
        except HelmError as exc:
            if "not found" in exc.stderr:
                return False
            raise
        return True

    async def recover(self, release: str, namespace: str) -> str:
        """Unlock a release left pending-* by a helm process that is gone; returns the action."""
        if (namespace, release) in self.running:
            return "none"
        action, revision = recovery_action(await self.history(release, namespace))
        if action == "rollback":
            log.warning(
                "helm release %s/%s stuck pending: rolling back to %d", namespace, release, revision
            )
            await self.rollback(release, namespace, revision)
        elif action == "uninstall":
            log.warning(
                "helm release %s/%s stuck pending-install: uninstalling", namespace, release
            )
            await self.uninstall(release, namespace)
        return action


def parse_manifest(text: str, chart: str = "") -> list[dict[str, Any]]:
    """The objects of a rendered manifest, read as Kubernetes reads it (empty documents skipped).

    Raises:
        HelmError: the text is not YAML Kubernetes reads; the message names the chart, the
            template (Helm's `# Source:` line), the line and column there, and shows the line.
    """
    try:
        docs = k8syaml.load_all(text)
    except k8syaml.YamlError as exc:
        where = k8syaml.describe_rendered(exc, text, chart)
        raise HelmError(f"the rendered manifest is not YAML Kubernetes reads: {where}") from exc
    return [d for d in docs if isinstance(d, dict) and d.get("kind")]


# What helm may print that must not reach a status message: credentials in URLs, tokens,
# passwords (a repository or registry error can echo them).
_SECRETS = (
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.I), r"\1<redacted>@"),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 <redacted>"),
    (
        re.compile(
            r"\b(password|passwd|token|secret|api[-_]?key|authorization)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\s\"',]+",
            re.I,
        ),
        r"\1\2<redacted>",
    ),
)


def redact(text: str) -> str:
    """`text` with credentials replaced by <redacted> (URL user:password, tokens, passwords)."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def _values_file(values: Mapping[str, Any]) -> Iterator[str]:
    """Values as a private temporary JSON file (JSON is YAML), removed afterwards."""
    fd, path = tempfile.mkstemp(prefix="outpost-values-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(dict(values), handle)
        yield path
    finally:
        os.unlink(path)


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, then wait: a SIGKILLed helm is what leaves releases pending."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), TERM_GRACE_SECONDS)
        except TimeoutError:
            proc.kill()
