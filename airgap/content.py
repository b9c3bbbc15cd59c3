"""Pushing a verified bundle's content directory: `images/` (OCI layout) and `charts/*.tgz`.

This is the registry half of `outpost airgap import`: the bundle is verified and extracted
elsewhere (`bundle`); `push_content` verifies the OCI layout's blobs, pushes images then
charts, and returns the reference mapping that `relocation.relocate_refs` applies to the
bundle's resources and chart values. I/O: the content directory and the registry.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from airgap.charts import ChartPush, push_chart
from airgap.journal import UploadJournal
from airgap.layout import read_layout
from airgap.progress import PushObserver, RichObserver
from airgap.push import PushSummary, apply_push, plan_push
from airgap.registry import RegistryClient
from airgap.upload import UploadSettings
from refs.relocation import build_mapping


@dataclass(frozen=True)
class ContentPush:
    """Outcome of pushing one bundle's content."""

    images: PushSummary | None
    charts: tuple[ChartPush, ...]
    mapping: dict[str, str]

    def chart_urls(self, netloc: str) -> dict[str, str]:
        """Chart name → `oci://…` URL (the version is the tag)."""
        return {c.name: f"oci://{netloc}/{c.repository}" for c in self.charts}


def push_content(
    content: Path,
    client: RegistryClient,
    *,
    journal: UploadJournal | None = None,
    settings: UploadSettings | None = None,
    progress: bool = False,
) -> ContentPush:
    """Verify `content/images`, push it, push every `content/charts/*.tgz`; idempotent."""
    images = content / "images"
    summary, pushed = None, []
    if images.is_dir():
        graph = read_layout(images)
        plan = plan_push(graph, client, journal)
        observer: AbstractContextManager[PushObserver | None] = (
            RichObserver(plan.bytes_to_send) if progress else nullcontext(None)
        )
        with observer as active:
            summary = apply_push(plan, client, journal=journal, observer=active, settings=settings)
        pushed = [(image.ref_name, image.root.digest) for image in graph.images]
    charts = tuple(
        push_chart(tgz, client, journal=journal)
        for tgz in sorted((content / "charts").glob("*.tgz"))
    )
    return ContentPush(summary, charts, build_mapping(pushed, client.address))
