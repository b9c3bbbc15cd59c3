"""Relocation at apply time: point a bundle resource's images and charts at the site's registry.

Pure: a resource (as signed in the bundle), the bundle manifest's image list (source reference,
digest) and the registry location recorded in `Bundle.spec.registry` in; a new resource out,
nothing mutated. The signed content stays byte-identical (the agent re-verifies its sha256 at
every reconcile); only what is applied differs. Digests come from the signed manifest, so a
wrong `spec.registry` can only make pulls fail, never make a node run other code.

Rewritten: in an Application's `spec.manifests.objects`, every string that is one of the
bundle's image references (containers, initContainers, anything else holding one); in
`spec.helm.values`, `image: REF` strings and `{repository, tag|digest}` maps (merged over the
chart's own defaults when given, since values often override only the tag); a bundle chart
path (`charts/<name>` or `charts/<name>-<version>.tgz`) becomes `oci://<registry>/charts/<name>`
with its `version` and, when the signed archive's OCI digest is known, `@sha256:…`: the chart
is pulled by digest. Choice (issue 11): the tag is made irrelevant rather than re-tagging being
stopped: a re-import of an older bundle may still move the chart tag, but nothing the agent
installs reads the tag, so what a newer bundle in force uses cannot move (and the registry and
helm check the bytes against the digest on the way). Other kinds pass through with their known
image strings relocated.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from agent.errors import ConfigError
from refs.address import RegistryAddress, parse_address
from refs.errors import AddressError
from refs.relocation import build_mapping, relocate_refs

_CHART_ARCHIVE = re.compile(
    r"^charts/(?P<name>[A-Za-z0-9._-]+?)-(?P<version>\d[A-Za-z0-9.+_-]*)\.tgz$"
)
_CHART_DIR = re.compile(r"^charts/(?P<name>[A-Za-z0-9._-]+)/?$")


class ImageLike(Protocol):
    """One image of the signed manifest (e.g. `bundle.manifest.ImageEntry`)."""

    @property
    def source(self) -> str:
        """The image reference as the vendor wrote it."""

    @property
    def digest(self) -> str:
        """Its digest in the signed manifest."""


def registry_address(registry: str) -> RegistryAddress:
    """Parse `HOST[:PORT][/PREFIX]` from `Bundle.spec.registry`.

    Raises:
        ConfigError: the value is not a registry location.
    """
    try:
        return parse_address(registry)
    except AddressError as exc:
        raise ConfigError(f"`spec.registry` of the Bundle is unusable: {exc}") from exc


def image_mapping(images: Iterable[ImageLike | tuple[str, str]], registry: str) -> dict[str, str]:
    """Source reference (by tag and by digest) → `<registry>/<prefix>/<path>@<digest>`."""
    pairs = [item if isinstance(item, tuple) else (item.source, item.digest) for item in images]
    try:
        return build_mapping(pairs, registry_address(registry))
    except ValueError as exc:
        raise ConfigError(f"the bundle lists an image that cannot be relocated: {exc}") from exc


def relocate_resource(
    obj: Mapping[str, Any],
    images: Iterable[ImageLike | tuple[str, str]],
    registry: str,
    chart_values: Mapping[str, Any] | None = None,
    chart_digest: str = "",
) -> dict[str, Any]:
    """A copy of `obj` whose image references and bundle chart point at `registry` by digest.

    Args:
        obj: one resource of the bundle (an Application, or any other object).
        images: the signed manifest's images as (source, digest) pairs or entries.
        registry: `Bundle.spec.registry`, `HOST[:PORT][/PREFIX]`; empty means no relocation.
        chart_values: the default values of the Application's bundle chart, if known.
        chart_digest: the OCI manifest digest of that chart (`bundle.charts.oci_digest`).
    """
    out = copy.deepcopy(dict(obj))
    if not registry:
        return out
    mapping = image_mapping(images, registry)
    if out.get("kind") != "Application":
        return dict(relocate_refs(out, mapping))
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    manifests = spec.get("manifests")
    if isinstance(manifests, dict) and isinstance(manifests.get("objects"), list):
        manifests["objects"] = relocate_refs(manifests["objects"], mapping)
    helm = spec.get("helm")
    if isinstance(helm, dict):
        address = registry_address(registry)
        spec["helm"] = relocate_helm(helm, mapping, address, chart_values, chart_digest)
    return out


def relocate_helm(
    helm: Mapping[str, Any],
    mapping: Mapping[str, str],
    registry: RegistryAddress,
    chart_values: Mapping[str, Any] | None = None,
    chart_digest: str = "",
) -> dict[str, Any]:
    """`spec.helm` with relocated values and, for a bundle chart, an `oci://` chart reference
    (pinned `@<chart_digest>` when given)."""
    out = dict(helm)
    raw = helm.get("values")
    values: dict[str, Any] = raw if isinstance(raw, dict) else {}
    out["values"] = relocate_values(values, mapping, chart_values)
    # What templates compute is only known once rendered: the post-renderer gets the mapping.
    out["images"] = dict(sorted(mapping.items()))
    chart = helm.get("chart")
    if isinstance(chart, str) and not helm.get("repoURL"):
        located = chart_location(chart, registry)
        if located is not None:
            out["chart"], version = located
            out["version"] = helm.get("version") or version
            if chart_digest:
                out["chart"] = f"{out['chart']}@{chart_digest}"
    return out


def relocate_values(
    values: Mapping[str, Any],
    mapping: Mapping[str, str],
    chart_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Values with image references relocated; keys the relocation changed in the chart's
    defaults (e.g. `image.repository` when the app only sets `image.tag`) become overrides."""
    merged = merge_values(chart_values or {}, values)
    relocated = relocate_refs(merged, mapping)
    return overrides(merged, relocated, dict(values))


def merge_values(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over chart defaults (maps merge, the rest replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def overrides(before: Any, after: Any, given: dict[str, Any]) -> dict[str, Any]:
    """`given` plus every leaf where `after` differs from `before` (maps walked key by key)."""
    out = copy.deepcopy(given)
    for key, value in after.items():
        old = before.get(key)
        if value == old:
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            nested = out.get(key)
            out[key] = overrides(old, value, nested if isinstance(nested, dict) else {})
        else:
            out[key] = value
    return out


def chart_location(chart: str, registry: RegistryAddress) -> tuple[str, str] | None:
    """`oci://<registry>/<prefix>/charts/<name>` and the version from the archive name, or
    None when `chart` is not a bundle chart path."""
    for pattern in (_CHART_ARCHIVE, _CHART_DIR):
        match = pattern.match(chart)
        if match:
            version = match.groupdict().get("version") or ""
            repository = registry.repository(f"charts/{match['name']}")
            return f"oci://{registry.netloc}/{repository}", version
    return None
