"""`outpost status …`: preview and export the agent's signed status reports.

I/O shell: opens the cluster stores (`agent.sync.cluster.open_stores`, the agent's async client)
and writes the export file.
`preview` writes nothing to the cluster; `export` signs one fresh report (advancing `seq`, as a
sent report would) and writes it with the spooled ones for hand carrying out of an air gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from agent.errors import ConfigError
from agent.sync import cluster
from agent.sync.cycle import Cycle, new_nonce
from agent.sync.outbox_cli import outbox_group
from agent.sync.report import ReportOptions
from agent.sync.snapshot import ClusterSnapshot
from agent.sync.usage_cluster import KubeUsage, with_usage
from bundle.errors import BundleError
from bundle.keyfiles import write_replace

DEFAULT_NAMESPACE = "outpost-system"

kubeconfig_option = click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: in-cluster)."
)
namespace_option = click.option(
    "--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="The agent's namespace."
)
owners_option = click.option(
    "--include-owners", is_flag=True, help="Include tenant owners (people) in the report."
)


async def _with_cycle(
    kubeconfig: str | None,
    namespace: str,
    include_owners: bool,
    use: Callable[[Cycle, ClusterSnapshot], Awaitable[bytes]],
) -> bytes:
    """Open the cluster-backed cycle, gather a snapshot, run `use`, close the client."""
    stores, gather = await cluster.open_stores(kubeconfig, namespace, include_owners)
    usage = KubeUsage(stores.kube, namespace)
    try:
        snapshot = await with_usage(gather, usage)()
        options = ReportOptions(include_owners=include_owners)
        return await use(Cycle(stores, options, usage=usage), snapshot)
    finally:
        await stores.kube.close()


@click.group("status")
def status() -> None:
    """Preview and export the agent's signed status reports."""


@status.command("preview")
@kubeconfig_option
@namespace_option
@owners_option
def preview(kubeconfig: str | None, namespace: str, include_owners: bool) -> None:
    """Print the JSON payload the next report would carry (nothing is signed or saved)."""
    payload = asyncio.run(
        _with_cycle(
            kubeconfig,
            namespace,
            include_owners,
            lambda cycle, snap: cycle.preview(snap, datetime.now(UTC), new_nonce()),
        )
    )
    click.echo(payload.decode())


@status.command("export")
@kubeconfig_option
@namespace_option
@owners_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def export(
    kubeconfig: str | None, namespace: str, include_owners: bool, out: str, force: bool
) -> None:
    """Write signed reports (spooled + a fresh one) as JSON lines, for `POST /v1/uploads`."""
    target = Path(out)
    if target.exists() and not force:
        raise ConfigError(f"'{out}' exists; choose another --out or pass --force")
    data = asyncio.run(
        _with_cycle(
            kubeconfig,
            namespace,
            include_owners,
            lambda cycle, snap: cycle.export(snap, datetime.now(UTC), new_nonce()),
        )
    )
    write_file(target, data)
    count = data.count(b"\n")
    click.echo(f"wrote {count} signed document(s) to {out}", err=True)


def write_file(target: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    try:
        write_replace(target, data)
    except BundleError as exc:
        raise ConfigError(str(exc)) from exc


status.add_command(outbox_group)
