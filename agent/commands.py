"""`outpost agent …`: run the controllers."""

from __future__ import annotations

import click


@click.group("agent")
def agent_group() -> None:
    """Run the in-cluster agent (controllers for DataPlane, Tenant, Application, Bundle)."""
