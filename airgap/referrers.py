"""OCI 1.1 referrers in a registry without the referrers API: the distribution spec's fallback.

A registry that indexes `subject` itself answers the manifest PUT with an `OCI-Subject` header
and serves `GET /v2/<name>/referrers/<digest>`. One that does not (docker-registry 2.8, the
go-containerregistry registry) gets the spec's tag scheme instead: an image index tagged
`sha256-<hex of the subject>` listing a descriptor of every referrer, which clients such as
`oras discover` read when the API is missing. Updating it is read-modify-write of that index.

Pure here: the tag name and the updated index bytes; `record_referrer` does the two requests.
"""

from __future__ import annotations

import json
from typing import Any

from airgap import oci
from airgap.oci import load_json


def fallback_tag(subject: str) -> str:
    """`sha256-<hex>`: the tag under which referrers of `subject` are listed."""
    algorithm, _, hexdigest = subject.partition(":")
    return f"{algorithm}-{hexdigest}"


def referrer_descriptor(digest: str, media_type: str, raw: bytes) -> dict[str, Any]:
    """The descriptor a referrers list holds for a referrer manifest (artifactType, annotations)."""
    doc = load_json(raw, digest)
    config = doc.get("config")
    fallback = config.get("mediaType") if isinstance(config, dict) else None
    desc: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(raw)}
    kind = doc.get("artifactType") or fallback
    if isinstance(kind, str) and kind:
        desc["artifactType"] = kind
    if isinstance(doc.get("annotations"), dict) and doc["annotations"]:
        desc["annotations"] = doc["annotations"]
    return desc


def with_referrer(existing: bytes | None, descriptor: dict[str, Any]) -> bytes | None:
    """The fallback index with `descriptor` added; None when it lists that digest already."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": []}
    if existing is not None:
        doc = load_json(existing, "referrers fallback index")
    manifests = doc.get("manifests")
    listed = manifests if isinstance(manifests, list) else []
    if any(isinstance(m, dict) and m.get("digest") == descriptor["digest"] for m in listed):
        return None
    doc["manifests"] = [*listed, descriptor]
    return json.dumps(doc, separators=(",", ":")).encode()
