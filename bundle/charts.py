"""Helm charts for a bundle: pack chart directories into .tgz deterministically, read Chart.yaml.

I/O: reads the chart source (a directory with Chart.yaml, or a packed `.tgz`, ours or made by
`helm package`). No helm binary: a chart archive is a gzip'd tar whose single top directory
`<name>/` holds Chart.yaml and the rest. A directory is packed with the files `helm package`
would take (`.helmignore` honoured, see `bundle.helmignore`). Packing sorts the files and zeroes
times and owners, so the same chart gives the same bytes (and digest) on every build.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import k8syaml
from bundle.errors import BundleError
from bundle.helmignore import ignored, parse_rules

MAX_CHART_YAML = 1024 * 1024
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CONTENT = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# Chart.yaml fields helm keeps in its OCI config blob (helm's chart.Metadata, in JSON names).
METADATA_KEYS = (
    "name", "home", "sources", "version", "description", "keywords", "maintainers", "icon",
    "apiVersion", "condition", "tags", "appVersion", "deprecated", "annotations",
    "kubeVersion", "dependencies", "type",
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class PackedChart:
    name: str
    version: str
    data: bytes

    @property
    def path(self) -> str:
        """The chart's member path inside a bundle."""
        return f"charts/{self.name}-{self.version}.tgz"


def load_chart(source: Path) -> PackedChart:
    """Pack a chart directory, or take a `.tgz` as it is; either way read name and version."""
    try:
        return _load(source)
    except OSError as exc:
        raise BundleError(f"cannot read chart '{source}': {exc}") from exc


def _load(source: Path) -> PackedChart:
    if source.is_dir():
        meta = _parse_chart_yaml((source / "Chart.yaml").read_bytes(), str(source))
        return PackedChart(*meta, data=_pack(source, meta[0]))
    if source.name.endswith(".tgz"):
        data = source.read_bytes()
        return PackedChart(*_meta_from_tgz(data, str(source)), data=data)
    raise BundleError(f"'{source}' is neither a chart directory nor a .tgz chart archive")


def _parse_chart_yaml(raw: bytes, where: str) -> tuple[str, str]:
    try:
        doc: Any = k8syaml.load(raw)
    except k8syaml.YamlError as exc:
        raise BundleError(f"{where}: Chart.yaml is not valid YAML ({exc})") from exc
    if not isinstance(doc, dict):
        raise BundleError(f"{where}: Chart.yaml must be a mapping with `name` and `version`")
    name, version = str(doc.get("name", "")), str(doc.get("version", ""))
    for field, value in (("name", name), ("version", version)):
        if not _NAME.match(value):
            raise BundleError(f"{where}: Chart.yaml `{field}` '{value}' must match [A-Za-z0-9._-]+")
    return name, version


def chart_files(directory: Path) -> list[Path]:
    """The files `helm package` would put in the archive: `.helmignore` honoured, sorted."""
    ignore = directory / ".helmignore"
    rules = parse_rules(ignore.read_text(encoding="utf-8") if ignore.is_file() else "")
    found: list[Path] = []
    pending = [directory]
    while pending:
        for path in sorted(pending.pop().iterdir()):
            rel = path.relative_to(directory).as_posix()
            is_dir = path.is_dir() and not path.is_symlink()
            if ignored(rules, rel, is_dir):
                continue  # an ignored directory is skipped whole, as helm does
            (pending if is_dir else found).append(path)
    return sorted(found)


def _pack(directory: Path, name: str) -> bytes:
    files = chart_files(directory)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            if path.is_symlink() or not path.is_file():
                raise BundleError(f"chart file '{path}' must be a regular file (no links)")
            data = path.read_bytes()
            rel = path.relative_to(directory).as_posix()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    # mtime=0 and no file name in the gzip header keep the archive reproducible.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _meta_from_tgz(data: bytes, where: str) -> tuple[str, str]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isreg():
                    return _parse_chart_yaml(_read_member(tar, member), where)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"{where}: not a gzip'd chart archive ({exc})") from exc
    raise BundleError(f"{where}: no `<name>/Chart.yaml` inside the chart archive")


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_CHART_YAML:
        raise BundleError(f"Chart.yaml in the archive is over {MAX_CHART_YAML} bytes")
    stream = tar.extractfile(member)
    return stream.read() if stream is not None else b""


def oci_config(meta: dict[str, Any]) -> bytes:
    """The chart's OCI config blob: its Chart.yaml fields helm keeps, as compact JSON."""
    kept = {key: meta[key] for key in METADATA_KEYS if key in meta}
    return json.dumps(kept, separators=(",", ":")).encode()


def oci_manifest(config: bytes, layer_digest: str, layer_size: int) -> bytes:
    """The OCI image manifest of a chart, byte for byte as the importer pushes it."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(HELM_CONFIG, config),
        "layers": [{"mediaType": HELM_CONTENT, "digest": layer_digest, "size": layer_size}],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


def oci_digest(tgz: bytes) -> str:
    """The digest the chart archive `tgz` has once pushed as an OCI artifact (`sha256:…`): what
    the agent pulls by (`oci://…@sha256:…`), computed from the signed archive alone.

    Raises:
        BundleError: the archive has no readable Chart.yaml.
    """
    meta = read_chart_yaml(tgz, "chart archive")
    layer = "sha256:" + hashlib.sha256(tgz).hexdigest()
    manifest = oci_manifest(oci_config(meta), layer, len(tgz))
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def read_chart_yaml(data: bytes, where: str) -> dict[str, Any]:
    """`<name>/Chart.yaml` of a chart archive, as a mapping (capped, read with random access).

    Raises:
        BundleError: no readable Chart.yaml mapping in the archive.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isreg():
                    doc = k8syaml.load(_read_member(tar, member))
                    if isinstance(doc, dict):
                        return doc
                    break
    except (tarfile.TarError, OSError, EOFError, k8syaml.YamlError) as exc:
        raise BundleError(f"{where}: cannot read Chart.yaml ({exc})") from exc
    raise BundleError(f"{where}: no `<name>/Chart.yaml` mapping inside the chart archive")


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return {"mediaType": media_type, "digest": digest, "size": len(data)}
