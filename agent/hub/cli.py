"""`outpost hub …`: the reference hub that receives signed status reports."""

from __future__ import annotations

import click


@click.group("hub")
def hub() -> None:
    """Run the reference hub (receives signed status reports; never connects to clusters)."""
