"""`outpost dev …`: the local control plane."""

from __future__ import annotations

import click


@click.group("dev")
def dev() -> None:
    """Run a real Kubernetes control plane on loopback (etcd, apiserver, kcm, scheduler, kwok)."""
