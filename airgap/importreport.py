"""What `outpost airgap import` will do (`ImportPlan`, for `--dry-run`) and did (`ImportSummary`).

Pure values with `to_dict` (the `--output json` shape) and human-readable text. Nothing here
holds or prints a credential: the registry appears as `host[:port][/prefix]` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airgap.charts import ChartPush
from airgap.plan import PushPlan, render_plan
from airgap.push import PushSummary


@dataclass(frozen=True)
class ChartStep:
    """One bundle chart and whether its OCI artifact is already in the registry."""

    name: str
    version: str
    url: str
    digest: str
    exists: bool
    bytes_to_send: int

    def to_dict(self) -> dict[str, Any]:
        """The chart step as JSON."""
        return {
            "chart": self.name,
            "version": self.version,
            "url": self.url,
            "digest": self.digest,
            "action": "exists" if self.exists else "push",
            "bytesToSend": self.bytes_to_send,
        }


@dataclass(frozen=True)
class ImportPlan:
    """The dry run: registry inventory and steps, bytes to send, and the cluster handoff."""

    bundle: dict[str, Any]
    images: PushPlan | None
    charts: tuple[ChartStep, ...]
    cluster: dict[str, Any]
    cluster_text: str

    @property
    def bytes_to_send(self) -> int:
        """Bytes the import would send: image blobs and charts."""
        images = self.images.bytes_to_send if self.images else 0
        return images + sum(c.bytes_to_send for c in self.charts)

    def to_dict(self) -> dict[str, Any]:
        """The dry run as JSON."""
        return {
            "dryRun": True,
            "bundle": self.bundle,
            "images": self.images.to_dict() if self.images else None,
            "charts": [c.to_dict() for c in self.charts],
            "bytesToSend": self.bytes_to_send,
            "cluster": self.cluster,
        }

    def text(self) -> str:
        """The dry run for people."""
        b = self.bundle
        lines = [f"bundle {b['product']} {b['version']} (sequence {b['sequence']}) verified"]
        lines.append(render_plan(self.images) if self.images else "no images in the bundle")
        for chart in self.charts:
            action = "exists" if chart.exists else f"push {chart.bytes_to_send} B"
            lines.append(f"  chart {chart.name} {chart.version} -> {chart.url} ({action})")
        lines.append(f"total: {self.bytes_to_send} bytes to send")
        lines.append(f"cluster: {self.cluster_text}")
        lines.append("dry run: nothing was sent or created")
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    bundle: dict[str, Any]
    images: PushSummary | None
    charts: tuple[ChartPush, ...]
    chart_bytes: int
    bundle_name: str
    registry: str
    bundle_created: bool = True

    @property
    def bytes_sent(self) -> int:
        """Bytes the import sent: image blobs and charts."""
        return (self.images.bytes_sent if self.images else 0) + self.chart_bytes

    def to_dict(self) -> dict[str, Any]:
        """The import's outcome as JSON."""
        netloc = self.registry.split("/", 1)[0]
        images = self.images.to_dict() if self.images else None
        return {
            "bundle": self.bundle,
            "registry": self.registry,
            "images": images,
            "charts": [c.to_dict(netloc) for c in self.charts],
            "bytesSent": self.bytes_sent,
            "bundleObject": self.bundle_name,
            "bundleCreated": self.bundle_created,
        }

    def describe(self) -> str:
        """The import's outcome for people."""
        netloc = self.registry.split("/", 1)[0]
        lines = [self.images.describe()] if self.images else ["no images in the bundle"]
        lines += [
            f"chart {c.name} {c.version} at oci://{netloc}/{c.repository}@{c.digest}"
            for c in self.charts
        ]
        count = len(self.images.images) if self.images else 0
        state = "created" if self.bundle_created else "already present, nothing created"
        lines.append(
            f"imported {self.bundle['product']} {self.bundle['version']} into {self.registry}: "
            f"{count} images, {len(self.charts)} charts, {self.bytes_sent} bytes sent; "
            f"Bundle {self.bundle_name} {state}"
        )
        return "\n".join(lines)
