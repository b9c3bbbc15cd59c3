"""`outpost support-bundle`: collect, redact and sign; `outpost support-bundle verify`.

The archive is written only after everything was collected and redacted, and signed with the
install's identity key (Secret `outpost-agent-identity`), so a vendor can tell what this cluster
produced from anything edited later. Nothing is sent anywhere: the customer decides.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from agent.errors import ConfigError, SupportBundleError
from agent.kube.client import Kube
from agent.kube.kubeconfig import load_credentials
from agent.settings import service_url
from agent.support import archive
from agent.support.collect import REPORT, Scope, add_report, collect
from agent.support.fetch import fetch
from agent.sync.cluster import IDENTITY_SECRET, KubeStores
from bundle.keyfiles import load_public
from bundle.timestamps import parse_duration
from wire.errors import ProtocolError
from wire.protocol import agent_id_for, public_key_from_b64


@click.group("support-bundle", invoke_without_command=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (FILE.tar.gz).")  # fmt: skip
@click.option("--since", default="24h", show_default=True, help="How far back Events and logs go.")
@click.option("--namespace", "namespaces", multiple=True,
              help="Namespaces to include (default: every Outpost namespace).")  # fmt: skip
@click.option("--agent-namespace", default="outpost-system", show_default=True)
@click.option("--agent-log", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The agent's log file, for an agent that runs beside the cluster.")  # fmt: skip
@click.option("--metrics-url", default="", help="The agent's /metrics URL, to include its metrics.")
@click.option("--redact", "patterns", multiple=True, help="Extra regular expression to redact.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def support_bundle(ctx: click.Context, /, **opts: Any) -> None:
    """Collect Outpost's state into a redacted, signed archive for the vendor's support."""
    if ctx.invoked_subcommand is not None:
        return
    if opts["out"] is None:
        raise ConfigError("--out FILE.tar.gz is required to write a support bundle")
    scope = Scope(
        opts["agent_namespace"], tuple(opts["namespaces"]), parse_duration(opts["since"]),
        opts["agent_log"], opts["metrics_url"], tuple(opts["patterns"]),
    )  # fmt: skip
    summary = asyncio.run(_make(opts["kubeconfig"], scope, opts["out"]))
    if opts["output"] == "json":
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(
        f"wrote {summary['file']}: {len(summary['members'])} members, signed by"
        f" {summary['agentId']}; {summary['redactions']} values redacted (see {REPORT})"
    )


async def _make(kubeconfig: str | None, scope: Scope, out: Path) -> dict[str, Any]:
    kube = await _kube(kubeconfig)
    try:
        now = datetime.now(UTC)
        collected = await collect(kube, scope, now)
        key = await KubeStores(kube, scope.agent_namespace).load_key()
    finally:
        await kube.close()
    if key is None:
        raise SupportBundleError(
            f"no install key in Secret '{scope.agent_namespace}/{IDENTITY_SECRET}': the agent"
            " creates it when it first runs; start the agent, then try again"
        )
    add_report(collected)
    agent_id = agent_id_for(key.public_key())
    archive.write(out, collected.members, key, agent_id, now)
    return {"file": str(out), "agentId": agent_id, "members": sorted(collected.members),
            "redactions": len(collected.redactor.findings)}  # fmt: skip


async def _kube(kubeconfig: str | None) -> Kube:
    in_cluster = kubeconfig is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    server = service_url(os.environ) if in_cluster else ""
    creds = await load_credentials(kubeconfig or "", in_cluster, server)
    return Kube(creds, qps=50.0, burst=100, timeout=30.0)


@support_bundle.command("fetch")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (FILE.tar.gz).")  # fmt: skip
@click.option("--agent-namespace", default="outpost-system", show_default=True)
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file.")
def fetch_command(name: str, out: Path, agent_namespace: str, kubeconfig: str | None) -> None:
    """Write the archive a SupportBundleRequest produced (checked against its recorded sha256)."""

    async def run() -> dict[str, Any]:
        kube = await _kube(kubeconfig)
        try:
            return await fetch(kube, agent_namespace, name, out)
        finally:
            await kube.close()

    done = asyncio.run(run())
    click.echo(f"wrote {done['file']}: {done['size']} bytes, sha256 {done['sha256']}")


@support_bundle.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--agent-key", required=True,
    help="The install's public key: a PEM file, or base64 as the hub shows it.",
)  # fmt: skip
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify_command(path: Path, agent_key: str, output: str) -> None:
    """Check a support bundle's signature and every member's digest (exit 1 when it fails)."""
    from bundle.interpreter import require_patched_tarfile

    require_patched_tarfile()
    verified = archive.verify(path, _public_key(agent_key))
    if output == "json":
        click.echo(json.dumps({"verified": True, "agentId": verified.agent_id,
                               "created": verified.created,
                               "members": sorted(verified.members)}, indent=1))  # fmt: skip
        return
    click.echo(f"verified: {len(verified.members)} members signed by {verified.agent_id}"
               f" at {verified.created}")  # fmt: skip


def _public_key(text: str) -> Any:
    if Path(text).is_file():
        return load_public(Path(text))
    try:
        return public_key_from_b64(text, "--agent-key")
    except ProtocolError as exc:
        raise ConfigError(f"--agent-key: not a PEM file nor a base64 Ed25519 key ({exc})") from exc
