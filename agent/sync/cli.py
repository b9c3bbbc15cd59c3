"""`outpost status …`: preview and export signed status reports."""

from __future__ import annotations

import click


@click.group("status")
def status() -> None:
    """Preview and export the agent's signed status reports."""
