"""`outpost airgap …`: import a signed bundle into an air-gapped site's registry and cluster.

`import` verifies a bundle, pushes its images and charts and creates its `Bundle` object (see
`airgap.importer`); `push-layout` pushes a (verified) OCI image layout, `push-chart` pushes Helm
chart archives as OCI artifacts. Each prints a summary on stdout (`--output json` for scripts)
and progress on stderr; `--dry-run` prints the plan and sends nothing. The password is only
ever read from stdin, never from an option, so it stays out of shell history and process lists.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import FrameType
from typing import Any

import click

from airgap.auth import Credentials
from airgap.errors import AirgapError
from airgap.importreport import ImportPlan
from airgap.journal import UploadJournal, default_journal_path
from airgap.layout import read_layout
from airgap.plan import render_plan
from airgap.progress import RichObserver
from airgap.push import DEFAULT_WORKERS, apply_push, plan_push
from airgap.registry import RegistryClient, open_client
from airgap.upload import MIB, UploadSettings
from refs.errors import AddressError

_REGISTRY_OPTIONS = (
    click.option(
        "--registry",
        required=True,
        metavar="HOST[:PORT][/PREFIX]",
        help="Target registry and optional repository prefix.",
    ),
    click.option(
        "--ca-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="PEM CA certificate(s) to verify the registry's TLS certificate.",
    ),
    click.option(
        "--insecure-http",
        is_flag=True,
        help="Plain HTTP; allowed only for a loopback registry (tests, local mirrors).",
    ),
    click.option("--username", help="User for Basic auth or the token service."),
    click.option("--password-stdin", is_flag=True, help="Read the password from stdin."),
    click.option(
        "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
    ),
)


def registry_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the registry options (address, credentials, TLS) shared by every command."""
    for option in reversed(_REGISTRY_OPTIONS):
        func = option(func)
    return func


@click.group("airgap")
def airgap() -> None:
    """Import a bundle's images and charts into the customer's registry, digest for digest."""


@airgap.command("push-layout")
@click.argument(
    "layout_dir",
    metavar="OCI_LAYOUT_DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@registry_options
@click.option("--dry-run", is_flag=True, help="Print the plan; send nothing.")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Upload journal for resuming (default: $XDG_STATE_HOME/outpost/…).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="MiB per resumable PATCH chunk; blobs up to min(32, this) MiB go in one PUT.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Blobs uploaded in parallel.",
)
def push_layout(
    layout_dir: Path,
    *,
    dry_run: bool,
    journal: Path | None,
    chunk_size: int,
    workers: int,
    output: str,
    **registry: Any,
) -> None:
    """Verify an OCI image layout, then push its images to the registry.

    Every blob is checked against its descriptor before anything is sent. Image
    `registry.acme.dev/acme/api:2.14.0` goes to `<registry>/<prefix>/acme/api` (tag and digest).
    """
    graph = read_layout(layout_dir)
    client = _client(**registry)
    try:
        upload_journal = UploadJournal(journal or default_journal_path(os.environ))
        plan = plan_push(graph, client, upload_journal)
        if dry_run:
            _emit(output, plan.to_dict(), render_plan(plan))
            return
        settings = UploadSettings(chunk_size * MIB, min(chunk_size, 32) * MIB)
        cancel = threading.Event()
        bars = RichObserver(plan.bytes_to_send) if plan.bytes_to_send else nullcontext(None)
        with bars as observer, stop_on_signals(cancel):
            summary = apply_push(
                plan,
                client,
                journal=upload_journal,
                observer=observer,
                settings=settings,
                workers=workers,
                cancel=cancel,
            )
    finally:
        client.close()
    _emit(output, summary.to_dict(), summary.describe())


@airgap.command("push-chart")
@click.argument(
    "charts",
    nargs=-1,
    required=True,
    metavar="CHART_TGZ...",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@registry_options
def push_charts(charts: tuple[Path, ...], output: str, **registry: Any) -> None:
    """Push Helm chart archives as OCI artifacts to `<registry>/<prefix>/charts/<name>`."""
    from airgap.charts import push_chart  # yaml and tarfile: only this command needs them

    client = _client(**registry)
    try:
        pushed = [push_chart(chart, client) for chart in charts]
    finally:
        client.close()
    records = [chart.to_dict(client.address.netloc) for chart in pushed]
    lines = [
        f"pushed chart {r['chart']} {r['version']} to {r['url']}@{r['digest']}" for r in records
    ]
    _emit(output, {"charts": records}, "\n".join(lines))


@airgap.command("import")
@click.argument(
    "bundle_path", metavar="BUNDLE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--trust",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust-root keyring file (the vendor's root keyring).",
)
@registry_options
@click.option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
@click.option("--namespace", default="outpost-system", show_default=True, help="Agent namespace.")
@click.option("--dry-run", is_flag=True, help="Verify and print the plan; send and create nothing.")
@click.option(
    "--permit",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Signed downgrade permit, to import an older sequence than the one in force.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Upload journal for resuming (default: $XDG_STATE_HOME/outpost/…).",
)
@click.option("--chunk-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="MiB per resumable PATCH chunk.")  # fmt: skip
def import_command(
    bundle_path: Path,
    *,
    trust: Path,
    kubeconfig: str | None,
    namespace: str,
    dry_run: bool,
    permit: Path | None,
    journal: Path | None,
    chunk_size: int,
    output: str,
    **registry: Any,
) -> None:
    """Verify BUNDLE, push its images and charts to the registry, create its Bundle object.

    Nothing is pushed before the whole bundle verified, and the Bundle is created only after
    every image and chart is in the registry; rerunning resumes an interrupted import and sends
    only what is missing. The agent then points the bundle's images at the registry by digest.

    \b
    Example:
      outpost airgap import acme-2.14.0.bundle.tar --trust acme-root.json \\
        --registry registry.corp.example:5000/acme --ca-file corp-ca.pem
    """
    from airgap.importer import ImportRequest, import_bundle
    from bundle.cli import progress_bar
    from bundle.cluster import Cluster
    from bundle.handoff import ApplyRequest, Handoff
    from bundle.interpreter import require_patched_tarfile
    from bundle.timestamps import now_utc

    require_patched_tarfile()
    client = _client(**registry)
    try:
        trust_root = _read_trust(trust)
        now = now_utc()
        request = ImportRequest(
            bundle_path, trust_root, now,
            UploadJournal(journal or default_journal_path(os.environ)),
            UploadSettings(chunk_size * MIB, min(chunk_size, 32) * MIB), progress=True,
        )  # fmt: skip
        permit_bytes = _read_permit(permit) if permit is not None else None
        handoff = Handoff(
            Cluster(kubeconfig),
            ApplyRequest(bundle_path, trust_root, namespace, permit_bytes, skip_images=True,
                         continue_if_imported=True),
            now,
        )  # fmt: skip
        cancel = threading.Event()
        size = bundle_path.stat().st_size
        with progress_bar("verifying", size) as advance, stop_on_signals(cancel):
            result = import_bundle(
                request, client, handoff, dry_run=dry_run, cancel=cancel, verify_progress=advance
            )
    finally:
        client.close()
    text = result.text() if isinstance(result, ImportPlan) else result.describe()
    _emit(output, result.to_dict(), text)


def _read_trust(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AddressError(f"cannot read trust root {path}: {exc.strerror}") from exc


def _read_permit(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AirgapError(f"cannot read downgrade permit {path}: {exc.strerror}") from exc


def _client(
    registry: str,
    ca_file: Path | None,
    insecure_http: bool,
    username: str | None,
    password_stdin: bool,
) -> RegistryClient:
    if password_stdin and not username:
        raise AddressError("--password-stdin needs --username")
    credentials = None
    if username:
        if not password_stdin:
            raise AddressError(
                "--username needs --password-stdin (the password is read from stdin)"
            )
        credentials = Credentials(username, sys.stdin.readline().rstrip("\r\n"))
    return open_client(
        registry, ca_file=ca_file, insecure_http=insecure_http, credentials=credentials
    )


@contextmanager
def stop_on_signals(cancel: threading.Event) -> Iterator[None]:
    """First SIGINT/SIGTERM sets `cancel` (uploads stop at a chunk boundary, journaled so the
    next run resumes them — killing mid-chunk would make docker-registry 2.8.2 drop the
    upload); a second one acts as usual."""
    signals = (signal.SIGINT, signal.SIGTERM)
    # getsignal() is None for handlers installed outside Python: restore the default then.
    previous = {sig: signal.getsignal(sig) or signal.SIG_DFL for sig in signals}

    def handle(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        signal.signal(signum, previous[signal.Signals(signum)])
        click.echo("stopping at the next chunk boundary (again to abort now)", err=True)

    for sig in signals:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _emit(output: str, doc: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(doc, indent=2) if output == "json" else text)
