"""`spec.verify.requireReferrers`: every container image must carry the named OCI referrers.

Pure: the objects an Application would apply and, per image, the artifact types its registry
lists as referrers of its digest (looked up by the runtime) in; the images to look up, or a
`Problem` (reason ReferrerMissing) out. An image not pinned by digest cannot be checked and is
refused too: a tag can move after the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent import api
from agent.core.conditions import Problem

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
SHOWN = 3


@dataclass(frozen=True)
class ReferrerLookup:
    """What the registry lists for one image: artifact types, or why it could not be asked."""

    image: str
    found: frozenset[str] = frozenset()
    error: str = ""


def container_images(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every container image the objects run (pod specs at any depth), once, in order."""
    seen: dict[str, None] = {}
    for obj in objects:
        _walk(obj, seen)
    return list(seen)


def _walk(node: Any, seen: dict[str, None]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, seen)
        return
    if not isinstance(node, Mapping):
        return
    for key in CONTAINER_LISTS:
        for container in node.get(key) or ():
            if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                seen.setdefault(container["image"], None)
    for value in node.values():
        if isinstance(value, Mapping | list):
            _walk(value, seen)


def referrer_problem(required: Sequence[str], lookups: Sequence[ReferrerLookup]) -> Problem | None:
    """ReferrerMissing naming the images that lack a required artifact type, if any does."""
    if not required:
        return None
    lacking = []
    for lookup in lookups:
        missing = [kind for kind in required if kind not in lookup.found]
        if lookup.error or missing:
            why = lookup.error or f"no {', '.join(missing)} referrer"
            lacking.append(f"'{lookup.image}' ({why})")
    if not lacking:
        return None
    more = f" and {len(lacking) - SHOWN} more" if len(lacking) > SHOWN else ""
    message = (
        f"`spec.verify.requireReferrers` is not met: {'; '.join(lacking[:SHOWN])}{more}; nothing"
        " was applied. Push the missing signatures or attestations with the images (e.g."
        " `outpost airgap import` of a bundle that carries them); the agent looks again."
    )
    return Problem(api.Reason.REFERRER_MISSING, message, stalled=False)
