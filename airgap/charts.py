"""Helm charts as OCI artifacts, laid out the way `helm pull oci://…` expects.

A chart archive `<name>-<version>.tgz` (ours, or made by `helm package`, whose gzip header
carries extra fields that tarfile's stream mode rejects: archives are always opened seekable)
becomes repository `<prefix>/charts/<name>`, tag = chart version (`+` → `_`, as helm does, since
tags cannot hold `+`): a config blob of media type `application/vnd.cncf.helm.config.v1+json`
(Chart.yaml metadata as JSON), one layer `application/vnd.cncf.helm.chart.content.v1.tar+gzip`
(the archive bytes, streamed from disk) and an OCI image manifest. I/O: reads the archive (only
Chart.yaml is decompressed, capped) and talks to the registry through `RegistryClient`.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import k8syaml
from airgap import oci
from airgap.errors import AirgapError
from airgap.journal import UploadJournal
from airgap.layout import iter_file
from airgap.plan import BlobStep
from airgap.progress import NullObserver, PushObserver
from airgap.registry import RegistryClient
from airgap.upload import BlobOpener, BlobUploader
from bundle.charts import HELM_CONFIG, HELM_CONTENT, METADATA_KEYS, oci_config, oci_manifest

MAX_CHART_YAML = 1024 * 1024


@dataclass(frozen=True)
class ChartPush:
    """Where a chart went: `oci://<registry>/<repository>` with `tag`, pinned by `digest`."""

    name: str
    version: str
    repository: str
    tag: str
    digest: str

    def to_dict(self, netloc: str) -> dict[str, str]:
        """The pushed chart as JSON, with its pull URL on `netloc`."""
        return {
            "chart": self.name,
            "version": self.version,
            "tag": self.tag,
            "url": f"oci://{netloc}/{self.repository}",
            "digest": self.digest,
        }


def chart_metadata(tgz: Path) -> dict[str, Any]:
    """The Chart.yaml of a chart archive, as the subset helm stores in its config blob."""
    try:
        with tarfile.open(tgz, mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isreg():
                    if member.size > MAX_CHART_YAML:
                        break
                    handle = tar.extractfile(member)
                    raw = k8syaml.load(handle.read() if handle else b"")
                    return _check_metadata(tgz, raw)
    except (OSError, tarfile.TarError, k8syaml.YamlError) as exc:
        raise AirgapError(f"chart {tgz}: cannot read Chart.yaml ({exc})") from exc
    raise AirgapError(f"chart {tgz}: no <chart>/Chart.yaml (≤ 1 MiB) in the archive")


def _check_metadata(tgz: Path, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) for k in ("name", "version")
    ):
        raise AirgapError(f"chart {tgz}: Chart.yaml needs string 'name' and 'version'")
    return {key: raw[key] for key in METADATA_KEYS if key in raw}


def chart_artifact(tgz: Path, meta: dict[str, Any]) -> tuple[bytes, oci.Descriptor, bytes]:
    """(config bytes, layer descriptor, manifest bytes) of a chart, as helm lays it out; the
    same bytes `bundle.charts.oci_digest` computes, so the agent can pull by that digest."""
    config = oci_config(meta)
    layer_desc = oci.Descriptor(HELM_CONTENT, _file_sha256(tgz), tgz.stat().st_size)
    return config, layer_desc, oci_manifest(config, layer_desc.digest, layer_desc.size)


def push_chart(
    tgz: Path,
    client: RegistryClient,
    *,
    journal: UploadJournal | None = None,
    observer: PushObserver | None = None,
) -> ChartPush:
    """Push one chart archive; idempotent (existing blobs and tag are skipped by HEAD)."""
    meta = chart_metadata(tgz)
    repo = client.address.repository(f"charts/{meta['name']}")
    tag = str(meta["version"]).replace("+", "_")
    config, layer_desc, manifest = chart_artifact(tgz, meta)
    config_desc = oci.Descriptor(HELM_CONFIG, _sha256(config), len(config))
    uploader = BlobUploader(client, journal or UploadJournal(None), observer or NullObserver())
    for desc, opener in ((config_desc, _bytes_opener(config)), (layer_desc, _file_opener(tgz))):
        exists = client.blob_exists(repo, desc.digest)
        uploader.push(
            BlobStep(repo, desc.digest, desc.size, "exists" if exists else "upload"), opener
        )
    digest = _sha256(manifest)
    if client.manifest_digest(repo, tag) != digest:
        client.put_manifest(repo, tag, oci.OCI_MANIFEST, manifest, digest)
    return ChartPush(str(meta["name"]), str(meta["version"]), repo, tag, digest)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    for chunk in iter_file(path, 0, str(path)):
        sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def _bytes_opener(data: bytes) -> BlobOpener:
    def open_blob(offset: int, length: int) -> Iterator[bytes]:
        yield data[offset : offset + length]

    return open_blob


def _file_opener(path: Path) -> BlobOpener:
    def open_blob(offset: int, length: int) -> Iterator[bytes]:
        return iter_file(path, offset, str(path), limit=length)

    return open_blob
