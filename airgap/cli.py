"""`outpost airgap …`: import a signed bundle into an air-gapped site's registry and cluster."""

from __future__ import annotations

import click


@click.group("airgap")
def airgap() -> None:
    """Import a bundle's images and charts into the customer's registry, digest for digest."""
