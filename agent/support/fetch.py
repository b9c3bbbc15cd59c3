"""`outpost support-bundle fetch NAME`: the archive a SupportBundleRequest produced, to a file.

I/O: reads the request and its archive Secret with the caller's kubeconfig, writes the file
(mode 0600) only after its sha256 matches the one the agent recorded in the request's status.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from agent.errors import SupportBundleError
from agent.kube.client import Kube
from agent.support.request import KIND
from facts.api import API_VERSION


async def fetch(kube: Kube, namespace: str, name: str, out: Path) -> dict[str, Any]:
    """Write the archive of request `name` to `out`; SupportBundleError saying what is missing."""
    request = await kube.get(API_VERSION, KIND, name, namespace)
    if request is None:
        raise SupportBundleError(f"no SupportBundleRequest '{namespace}/{name}'")
    status = request.get("status") or {}
    where = status.get("archive") or {}
    if not where.get("secretName"):
        raise SupportBundleError(
            f"SupportBundleRequest '{name}' has no kept archive yet (see its Ready condition)"
        )
    secret = await kube.get("v1", "Secret", where["secretName"], namespace)
    encoded = ((secret or {}).get("data") or {}).get(where.get("key", ""))
    if not encoded:
        raise SupportBundleError(f"Secret '{namespace}/{where['secretName']}' holds no archive")
    data = base64.b64decode(encoded)
    digest = hashlib.sha256(data).hexdigest()
    if digest != status.get("sha256"):
        raise SupportBundleError(
            f"the archive's sha256 {digest[:16]}… is not the one the agent recorded"
        )
    with out.open("wb") as handle:
        out.chmod(0o600)
        handle.write(data)
    return {"file": str(out), "sha256": digest, "size": len(data), "agentId": status.get("agentId")}
