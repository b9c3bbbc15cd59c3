"""`outpost dev …`: the local control plane."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
from rich.console import Console

from devcluster import build, cluster, tools

STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the cluster keeps its state (default: $XDG_STATE_HOME/outpost/dev).",
)


def _console() -> Console:
    return Console(stderr=True)


@click.group("dev")
def dev() -> None:
    """Run a real Kubernetes control plane on loopback (etcd, apiserver, kcm, scheduler, kwok)."""


@dev.command("build")
def build_cmd() -> None:
    """Build the control-plane binaries into the cache (no-op when already built)."""
    bins = build.ensure_binaries(_console())
    click.echo(str(bins.path))


@dev.command("tools")
@click.argument("names", nargs=-1)
def tools_cmd(names: tuple[str, ...]) -> None:
    """Build the registry test clients (oras, crane) into the cache; print each binary's path.

    Each tool has its own cache key, apart from the control plane's.
    """
    for name in names or tuple(tools.TOOLS):
        click.echo(str(tools.ensure_tool(name, _console())))


@dev.command("up")
@STATE_DIR
def up_cmd(state_dir: Path | None) -> None:
    """Start the control plane (builds the binaries on first use); safe when already up."""
    state = cluster.up(state_dir or cluster.default_state_dir(), _console())
    _console().print(f'run: eval "$(outpost dev env{_flag(state_dir)})"')
    del state


@dev.command("down")
@STATE_DIR
def down_cmd(state_dir: Path | None) -> None:
    """Stop every process `up` started and remove the state."""
    cluster.down(state_dir or cluster.default_state_dir(), _console())


@dev.command("env")
@STATE_DIR
def env_cmd(state_dir: Path | None) -> None:
    """Print shell lines to eval: KUBECONFIG, and PATH with the cached kubectl and helm first."""
    state = cluster.require(state_dir or cluster.default_state_dir())
    for key, value in state.env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


@dev.command("status")
@STATE_DIR
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
def status_cmd(state_dir: Path | None, output: str) -> None:
    """Show whether each component runs (exit 1 when the cluster is not fully up)."""
    report = cluster.status(state_dir or cluster.default_state_dir())
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"running: {report['running']}")
        components = report["components"]
        assert isinstance(components, dict)
        for name, info in components.items():
            state = "running" if info["running"] else "DEAD"
            click.echo(f"  {name:<24} pid {info['pid']:<8} {state}  log {info['log']}")
    if not report["running"]:
        raise click.exceptions.Exit(1)


def _flag(state_dir: Path | None) -> str:
    return f" --state-dir {shlex.quote(str(state_dir))}" if state_dir else ""
