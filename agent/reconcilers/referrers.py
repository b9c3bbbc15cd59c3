"""Looking up an image's OCI referrers in its registry, for `spec.verify.requireReferrers`.

I/O: one anonymous HTTP client per visit. For `HOST/REPO@sha256:…` it asks the referrers API
(`GET /v2/REPO/referrers/DIGEST`) and, where the registry has none (404), the distribution spec's
fallback tag `sha256-<hex>`; the artifact types listed there are what the image carries. Plain
HTTP only towards loopback registries; anything else is HTTPS with the system's trust store.
Failures become a `ReferrerLookup` with the reason, which the pure rule turns into a refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from agent.core.application.referrers import ReferrerLookup
from refs.relocation import parse_reference

INDEX = "application/vnd.oci.image.index.v1+json"
TIMEOUT = httpx.Timeout(10.0)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


async def lookup_referrers(images: Sequence[str]) -> tuple[ReferrerLookup, ...]:
    """The artifact types each image's registry lists as referrers of its digest."""
    async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as client:
        return tuple(await asyncio.gather(*(_one(client, image) for image in images)))


async def _one(client: httpx.AsyncClient, image: str) -> ReferrerLookup:
    ref = parse_reference(image)
    if ref is None or ref.digest is None:
        return ReferrerLookup(
            image, error="not pinned by digest, so its referrers cannot be checked"
        )
    host = ref.domain.split(":")[0] if not ref.domain.startswith("[") else "[::1]"
    scheme = "http" if host in LOOPBACK else "https"
    base = f"{scheme}://{ref.domain}/v2/{ref.path}"
    try:
        listed = await _get(client, f"{base}/referrers/{ref.digest}")
        if listed is None:
            listed = await _get(client, f"{base}/manifests/{ref.digest.replace(':', '-', 1)}")
    except (httpx.HTTPError, ValueError) as exc:
        return ReferrerLookup(image, error=f"registry {ref.domain} could not be asked ({exc})")
    return ReferrerLookup(image, frozenset(_types(listed or {})))


async def _get(client: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    response = await client.get(url, headers={"Accept": INDEX})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    doc = response.json()
    return doc if isinstance(doc, dict) else {}


def _types(index: dict[str, Any]) -> list[str]:
    found = index.get("manifests")
    items = found if isinstance(found, list) else []
    return [str(m["artifactType"]) for m in items if isinstance(m, dict) and m.get("artifactType")]
