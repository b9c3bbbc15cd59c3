"""`outpost preflight BUNDLE --trust T`: run a bundle's preflight checks from a workstation.

I/O shell: verifies the bundle (its checks are signed content like everything else), reads the
facts from the cluster of the current kubeconfig with the official client, and runs the same
`bundle.preflight` code the agent runs before applying a new Bundle. Prints a table (or JSON)
and exits 1 when a strict check fails. `registryReachable` is the agent's to check: it is the
agent that pulls from the registry, and a workstation's network says little about that.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

import k8syaml
from bundle.errors import VerificationError
from bundle.keyfiles import read
from bundle.preflight import Result, checks_of, evaluate, failed, requested_resources, table
from bundle.timestamps import now_utc
from bundle.verify import verify_bundle

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("preflight")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: $KUBECONFIG.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def preflight_command(path: Path, trust: Path, kubeconfig: str | None, output: str) -> None:
    """Run BUNDLE's preflight checks against the current cluster; exit 1 if a strict one fails."""
    results = run_preflight(path, read(trust, "trust root"), kubeconfig)
    if output == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=1))
    else:
        click.echo(table(results) if results else "the bundle carries no preflight checks")
    strict = failed(results)
    if strict:
        names = ", ".join(r.name for r in strict)
        raise VerificationError(f"preflight check failed: strict checks failed: {names}")


def run_preflight(path: Path, trust: bytes, kubeconfig: str | None) -> list[Result]:
    """Verify the bundle, read its checks, gather the cluster's facts, and decide each check."""
    with tempfile.TemporaryDirectory(prefix="outpost-preflight-") as tmp:
        staged = Path(tmp) / "staged"
        verified = verify_bundle(path, trust, now_utc(), staging=staged)
        checks = []
        for member in verified.manifest.preflight:
            docs = k8syaml.load_all((staged / member).read_bytes())
            checks += checks_of([d for d in docs if isinstance(d, dict)], member)
    if not checks:
        return []
    from bundle.cluster import Cluster

    facts = Cluster(kubeconfig).preflight_facts(requested_resources(checks))
    return evaluate(checks, facts)
