"""`outpost keys …` and `outpost bundle …`: keys, keyrings, building and verifying bundles."""

from __future__ import annotations

import click


@click.group("keys")
def keys() -> None:
    """Generate signing keys and manage signed keyrings."""


@click.group("bundle")
def bundle() -> None:
    """Build, verify, inspect and apply signed bundles."""
