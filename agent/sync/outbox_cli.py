"""`outpost status outbox`: every report pending, sent, rejected or dropped; `outbox show SEQ`.

I/O shell over the agent's stores (the spool and the outbox ConfigMaps, read with the agent's one
async client). Reads only: reviewing what left, or will leave, changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime

import click

from agent.errors import ConfigError
from agent.sync import cluster, outbox

kubeconfig_option = click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: in-cluster)."
)
namespace_option = click.option(
    "--namespace", default="outpost-system", show_default=True, help="The agent's namespace."
)


async def entries(kubeconfig: str | None, namespace: str) -> list[outbox.Entry]:
    """The outbox's entries, then the pending spool, oldest first."""
    stores, _ = await cluster.open_stores(kubeconfig, namespace)
    try:
        kept = list(await stores.load_outbox())
        now = datetime.now(UTC)
        pending = [outbox.describe(e, "pending", now) for e in await stores.load_spool()]
    finally:
        await stores.kube.close()
    return [*kept, *pending]


@click.group("outbox", invoke_without_command=True)
@kubeconfig_option
@namespace_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def outbox_group(ctx: click.Context, /, kubeconfig: str | None, namespace: str,
                 output: str) -> None:  # fmt: skip
    """List every report pending, sent, rejected or dropped, with its size and categories."""
    ctx.obj = (kubeconfig, namespace)
    if ctx.invoked_subcommand is not None:
        return
    found = asyncio.run(entries(kubeconfig, namespace))
    if output == "json":
        click.echo(json.dumps([e.to_dict(body=False) for e in found], indent=1))
        return
    click.echo(f"{'SEQ':>6}  {'STATUS':<9} {'WHEN':<21} {'BYTES':>8}  USAGE  CATEGORIES")
    for e in found:
        click.echo(f"{e.seq:>6}  {e.status:<9} {e.at:<21} {e.size:>8}  {e.usage_records:>5}  "
                   f"{','.join(e.categories) or '-'}")  # fmt: skip


@outbox_group.command("show")
@click.argument("seq", type=int)
@click.option("--payload", is_flag=True, help="Print the signed JSON payload instead.")
@click.pass_obj
def show(obj: tuple[str | None, str], seq: int, payload: bool) -> None:
    """Print exactly what was, or will be, sent for report SEQ (the signed envelope)."""
    found = [e for e in asyncio.run(entries(*obj)) if e.seq == seq]
    if not found:
        raise ConfigError(f"report {seq} is not in the outbox (past retention, or never made)")
    entry = found[-1]
    if entry.envelope is None:
        raise ConfigError(
            f"report {seq} was {entry.status}; its body is not kept (sha256 {entry.sha256})"
        )
    data = entry.envelope
    if payload:
        data = base64.b64decode(json.loads(data)["payload"])
    click.echo(data.decode())
