"""A Bundle's signed content as the agent uses it: re-verified, read from the cluster, checked.

I/O: the trust-root file named by the agent's settings and the content ConfigMaps (through the
reconcilers' `KubeApi`); the checks themselves are `bundle.stored`'s pure functions. Nothing is
cached between visits: every use verifies the keyring chain from the configured trust root, the
manifest signature, that the Bundle's spec says what the signed manifest says, and each file's
size and sha256 before its bytes are used. `materialize_chart` serves Helm Applications whose
chart is a bundle path (`charts/webapp-0.3.0.tgz`, or `charts/webapp` for the newest version).
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from agent import api
from agent.core.bundle import reverify
from agent.errors import AgentError, KubeError
from agent.reconcilers.context import KubeApi, KubeObject
from agent.settings import AgentSettings
from bundle.errors import BundleError, VerificationError
from bundle.lineage import Imported
from bundle.manifest import Manifest
from bundle.stored import check_content


class ContentError(VerificationError):
    """A content file is missing from the cluster or cannot be read where the Bundle says."""


def read_trust_root(settings: AgentSettings) -> bytes:
    """The trust-root keyring file from the agent's configuration (never from a bundle)."""
    path = settings.trust_root
    if not path:
        raise VerificationError(
            "no trust root is configured: set the chart value `trustRoot` (or OUTPOST_TRUST_ROOT)"
            " to the vendor's keyring file; bundles are refused until then"
        )
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise VerificationError(f"cannot read the trust root '{path}': {exc.strerror}") from exc


async def read_content(kube: KubeApi, bundle: KubeObject, manifest: Manifest, path: str) -> bytes:
    """One content file's bytes, checked against the signed manifest before they are returned."""
    item = next((c for c in bundle["spec"].get("content") or () if c.get("path") == path), None)
    if item is None:
        raise ContentError(f"content check failed: '{path}' is not in the Bundle's `spec.content`")
    ref = item.get("configMapRef")
    if not ref:
        raise ContentError(
            f"content check failed: '{path}' is stored as an OCI artifact, which the agent cannot"
            " read yet; import the bundle with `outpost bundle apply`"
        )
    data = await _configmap_bytes(kube, ref, path)
    try:
        check_content(manifest, path, data)
    except VerificationError as exc:
        raise ContentError(f"{exc} (ConfigMap {ref['namespace']}/{ref['name']})") from exc
    return data


async def _configmap_bytes(kube: KubeApi, ref: Mapping[str, str], path: str) -> bytes:
    where = f"ConfigMap {ref.get('namespace')}/{ref.get('name')}"
    try:
        cm = await kube.get("v1", "ConfigMap", str(ref.get("name")), str(ref.get("namespace")))
    except KubeError as exc:
        if exc.status != 403:
            raise  # transient: the visit is retried
        raise ContentError(
            f"content check failed: the agent may not read {where}; bundle content belongs in"
            " the agent's namespace (`outpost bundle apply --namespace`)"
        ) from exc
    if cm is None:
        raise ContentError(f"content check failed: '{path}' is missing: {where} does not exist")
    key = str(ref.get("key"))
    if key in (cm.get("binaryData") or {}):
        try:
            return base64.b64decode(cm["binaryData"][key], validate=True)
        except ValueError as exc:
            raise ContentError(f"content check failed: {where} key '{key}' is not base64") from exc
    if key in (cm.get("data") or {}):
        return str(cm["data"][key]).encode()
    raise ContentError(f"content check failed: '{path}' is missing: {where} has no key '{key}'")


async def materialize_chart(kube: KubeApi, settings: AgentSettings, chart_path: str) -> str:
    """A local copy of a bundle chart, from the newest applied Bundle carrying it.

    `chart_path` is `charts/<name>-<version>.tgz`, or `charts/<name>` for the newest version the
    Bundle carries. The bytes are verified again (trust root, manifest, sha256) before they are
    written into a private cache named by their digest.

    Raises:
        AgentError: no applied Bundle carries the chart, or it does not verify.
    """
    from datetime import UTC

    now = datetime.now(UTC)
    applied = _applied(await kube.list_objects(api.API_VERSION, "Bundle"))
    try:
        trust = read_trust_root(settings)
        for bundle in applied:
            path = _chart_in(bundle, chart_path)
            if path:
                checked = reverify(bundle, trust, now)
                data = await read_content(kube, bundle, checked.manifest, path)
                return _cache(path, data)
    except BundleError as exc:
        raise AgentError(f"bundle chart '{chart_path}' cannot be used: {exc}") from exc
    raise AgentError(
        f"no applied Bundle carries the chart '{chart_path}'; import a bundle that has it"
    )


async def signed_chart_digest(kube: KubeApi, chart_path: str) -> str:
    """The signed sha256 recorded in `spec.content` for the chart `materialize_chart` would use
    ("" when no applied Bundle carries it). Not verified here: `materialize_chart` verifies the
    bytes before helm sees them; this only tells one chart's bytes from another's."""
    for bundle in _applied(await kube.list_objects(api.API_VERSION, "Bundle")):
        path = _chart_in(bundle, chart_path)
        for item in (bundle.get("spec") or {}).get("content") or ():
            if path and item.get("path") == path:
                return str(item.get("sha256") or "")
    return ""


def _applied(bundles: list[KubeObject]) -> list[KubeObject]:
    """Applied Bundles, the most recently applied first."""
    from datetime import UTC

    now = datetime.now(UTC)
    applied = [b for b in bundles if Imported.from_object(b).applied_at is not None]
    return sorted(applied, key=lambda b: Imported.from_object(b).applied_at or now, reverse=True)


def _chart_in(bundle: KubeObject, chart_path: str) -> str:
    """The content path in `bundle` that `chart_path` names ('' when none)."""
    paths = [str(c.get("path")) for c in (bundle.get("spec") or {}).get("content") or ()]
    if chart_path in paths:
        return chart_path
    prefix = chart_path.rstrip("/") + "-"
    found = [p for p in paths if p.startswith(prefix) and p.endswith(".tgz")]
    return max(found, default="")


def _cache(path: str, data: bytes) -> str:
    """Write verified bytes into a private per-user cache; always rewritten, never trusted."""
    root = Path(tempfile.gettempdir()) / f"outpost-charts-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        target = root / f"{hashlib.sha256(data).hexdigest()[:40]}-{Path(path).name}"
        with tempfile.NamedTemporaryFile(dir=root, delete=False, suffix=".part") as part:
            part.write(data)
        os.replace(part.name, target)
    except OSError as exc:
        raise AgentError(f"cannot write the chart cache in '{root}': {exc.strerror}") from exc
    return str(target)
