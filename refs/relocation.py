"""Image references and their relocation into the customer's registry, by digest.

Mapping (the contract users see): a source reference `SRC_DOMAIN/PATH[:TAG][@DIGEST]` lands in
repository `<prefix>/<PATH>` of the customer registry, i.e. the source domain is dropped and the
repository path is kept, so `registry.acme.dev/acme/api:2.14.0` pushed with
`--registry mirror.corp:5000/outpost` becomes `mirror.corp:5000/outpost/acme/api@sha256:…` (the tag
is pushed too). Docker Hub short names are normalised first (`nginx` → `docker.io/library/nginx`).

Pure: strings and plain data in, strings and new plain data out; nothing is mutated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from refs.address import RegistryAddress

DEFAULT_DOMAIN = "docker.io"
_DIGEST = r"sha256:[a-f0-9]{64}"
_REFERENCE = re.compile(
    r"^(?P<name>[A-Za-z0-9.\-_:/\[\]]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>"
    + _DIGEST
    + r"))?$"
)
_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalised image reference."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """`domain/path`: the repository without tag or digest."""
        return f"{self.domain}/{self.path}"

    def key(self) -> str:
        """Canonical lookup key: by digest when there is one, else by tag (default `latest`)."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"


def parse_reference(text: str) -> ImageReference | None:
    """Parse `[DOMAIN/]PATH[:TAG][@DIGEST]`; None when `text` is not an image reference."""
    match = _REFERENCE.match(text)
    if match is None:
        return None
    name = match["name"]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain in ("index.docker.io", "registry-1.docker.io"):
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if not _PATH.match(path):
        return None
    return ImageReference(domain, path, match["tag"], match["digest"])


def target_repository(source_ref: str, registry: RegistryAddress) -> str:
    """Repository in the customer registry for a source reference: `<prefix>/<path>`."""
    ref = parse_reference(source_ref)
    if ref is None:
        raise ValueError(f"not an image reference: {source_ref!r}")
    return registry.repository(ref.path)


def relocate(source_ref: str, digest: str, registry: RegistryAddress) -> str:
    """`<registry>/<prefix>/<path>@<digest>` for a source reference and its pushed digest."""
    return f"{registry.netloc}/{target_repository(source_ref, registry)}@{digest}"


def build_mapping(pushed: Iterable[tuple[str, str]], registry: RegistryAddress) -> dict[str, str]:
    """Lookup table for `relocate_refs` from (source reference, digest) pairs.

    Both the tag form and the digest form of each source reference map to the relocated
    reference by digest.
    """
    mapping: dict[str, str] = {}
    for source_ref, digest in pushed:
        ref = parse_reference(source_ref)
        if ref is None:
            raise ValueError(f"not an image reference: {source_ref!r}")
        target = relocate(source_ref, digest, registry)
        mapping[ImageReference(ref.domain, ref.path, None, digest).key()] = target
        if ref.tag or not ref.digest:
            mapping[ImageReference(ref.domain, ref.path, ref.tag).key()] = target
    return mapping


def relocate_refs(obj: Any, mapping: Mapping[str, str]) -> Any:
    """Return a copy of a YAML document / Helm values tree with image references relocated.

    Rewritten: any string that is a known image reference (`name:tag`, `name@sha256:…`), and
    any mapping with `repository` (plus optional `registry`) and `tag` and/or `digest` keys.
    Unknown references are left as they are.
    """
    if isinstance(obj, str):
        ref = parse_reference(obj)
        return mapping.get(ref.key(), obj) if ref else obj
    if isinstance(obj, list):
        return [relocate_refs(item, mapping) for item in obj]
    if isinstance(obj, dict):
        relocated = _relocate_repository_dict(obj, mapping)
        return {key: relocate_refs(value, mapping) for key, value in relocated.items()}
    return obj


def _relocate_repository_dict(obj: dict[Any, Any], mapping: Mapping[str, str]) -> dict[Any, Any]:
    repository, registry = obj.get("repository"), obj.get("registry")
    tag, digest = obj.get("tag"), obj.get("digest")
    if not isinstance(repository, str) or not (isinstance(tag, str) or isinstance(digest, str)):
        return obj
    name = f"{registry}/{repository}" if isinstance(registry, str) and registry else repository
    ref = parse_reference(name)
    if ref is None:
        return obj
    wanted = ImageReference(
        ref.domain,
        ref.path,
        tag if isinstance(tag, str) else None,
        digest if isinstance(digest, str) and digest else None,
    )
    target = mapping.get(wanted.key())
    return obj if target is None else _rewrite_repository_dict(obj, target)


def _rewrite_repository_dict(obj: dict[Any, Any], target: str) -> dict[Any, Any]:
    location, _, new_digest = target.partition("@")
    out = dict(obj)
    if isinstance(obj.get("registry"), str) and obj["registry"]:
        out["registry"], _, out["repository"] = location.partition("/")
    else:
        out["repository"] = location
    if "digest" in obj:
        out["digest"] = new_digest
    else:
        # A `repo:tag` template then renders `repo:tag@sha256:…`, which pulls by digest.
        out["tag"] = f"{obj['tag']}@{new_digest}"
    return out
