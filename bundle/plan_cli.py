"""`outpost bundle plan NEW.tar --trust T`: what applying a candidate would do. Writes nothing.

I/O shell: verifies the candidate (into a temporary directory), finds the bundle in force on
its channel in the cluster and verifies it again from the trust root (its content is read from
its ConfigMaps and checked against its signed manifest), then prints `bundle.plan`'s comparison,
the preflight results (`bundle.preflight`), the licence in force, and the anti-rollback verdict
(trust floor and `bundle.rollback.decide`, as `bundle apply` would decide them).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

import k8syaml
from bundle.errors import BundleError, VerificationError
from bundle.keyfiles import read
from bundle.keyring import decode_chain
from bundle.license import newest, verify_license
from bundle.license_cli import describe
from bundle.lineage import in_force, lineage
from bundle.manifest import Manifest
from bundle.plan import Content, compare, text
from bundle.preflight import checks_of, evaluate, requested_resources, table
from bundle.rollback import Applied, decide
from bundle.stored import check_content, verify_stored
from bundle.timestamps import now_utc
from bundle.trustfloor import check_floor
from bundle.verify import Verified, verify_bundle

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("plan")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: $KUBECONFIG.")
@click.option("--namespace", default="outpost-system", show_default=True, help="Agent namespace.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plan_command(
    path: Path, trust: Path, kubeconfig: str | None, namespace: str, output: str
) -> None:
    """Compare NEW with the bundle in force: objects, images, charts, CRDs (breaking changes
    flagged), preflight, licence and the anti-rollback verdict. Writes nothing."""
    from bundle.cluster import Cluster

    cluster, trust_bytes = Cluster(kubeconfig), read(trust, "trust root")
    with tempfile.TemporaryDirectory(prefix="outpost-plan-") as tmp:
        staged = Path(tmp) / "staged"
        candidate = verify_bundle(path, trust_bytes, now_utc(), staging=staged)
        new = _content(candidate.manifest, lambda p: (staged / p).read_bytes())
        checks = [
            c
            for p in candidate.manifest.preflight
            for c in checks_of(_docs((staged / p).read_bytes()), p)
        ]
    old_bundle = _in_force(cluster, candidate)
    old = _old_content(cluster, old_bundle, trust_bytes) if old_bundle else Content()
    report = compare(old, new).to_dict()
    report["inForce"] = (old_bundle or {}).get("metadata", {}).get("name")
    m = candidate.manifest
    report["candidate"] = f"{m.product}/{m.channel} sequence {m.sequence} ({m.version})"
    facts = cluster.preflight_facts(requested_resources(checks)) if checks else None
    results = evaluate(checks, facts) if facts else []
    report["preflight"] = [r.to_dict() for r in results]
    report["license"] = _licence(cluster, trust_bytes)
    report["rollback"] = _rollback(cluster, namespace, candidate, old_bundle)
    if output == "json":
        click.echo(json.dumps(report, indent=1))
        return
    lines = [f"candidate: {report['candidate']}; in force: {report['inForce'] or '(none)'}"]
    lines += text(compare(old, new))
    lines += ["preflight:", table(results) if results else "  (the bundle carries no checks)"]
    lines += [f"licence: {report['license']}", f"anti-rollback: {report['rollback']}"]
    click.echo("\n".join(lines))


def _docs(data: bytes) -> list[dict[str, Any]]:
    return [d for d in k8syaml.load_all(data) if isinstance(d, dict)]


def _content(manifest: Manifest, load: Any) -> Content:
    objects = [d for r in manifest.resources for d in _docs(load(r.path))]
    crds = [d for p in manifest.crds for d in _docs(load(p))]
    return Content(objects, crds, [i.source for i in manifest.images],
                   {c.name: c.version for c in manifest.charts})  # fmt: skip


def _in_force(cluster: Any, candidate: Verified) -> dict[str, Any] | None:
    m = candidate.manifest
    objects = {b["metadata"]["name"]: b for b in cluster.bundles()}
    found = in_force(lineage(objects.values(), m.product, m.channel))
    return dict(objects[found.name]) if found else None


def _old_content(cluster: Any, bundle: dict[str, Any], trust: bytes) -> Content:
    """The bundle in force, verified again from the trust root; content checked by sha256."""
    spec = bundle.get("spec") or {}
    chain = [str(e).encode() for e in spec.get("keyringChain") or ()]
    verified = verify_stored(chain, str(spec.get("signedManifest")).encode(), trust, now_utc())
    refs = {c["path"]: c.get("configMapRef") or {} for c in spec.get("content") or ()}

    def load(path: str) -> bytes:
        data = cluster.content_bytes(refs.get(path) or {})
        check_content(verified.manifest, path, data)
        return bytes(data)

    return _content(verified.manifest, load)


def _licence(cluster: Any, trust: bytes) -> str:
    found = []
    for obj in cluster.licenses():
        try:
            data = str((obj.get("spec") or {}).get("license") or "").encode()
            found.append(verify_license(data, decode_chain(trust), now_utc()))
        except VerificationError:
            continue
    lic = newest(found)
    if lic is None:
        return "no valid licence in the cluster"
    about = describe(lic, now_utc())
    blocked = " (new bundles are refused)" if about["state"] == "expired" else ""
    return f"{about['customer']}: {about['state']} until {about['expires']}{blocked}"


def _rollback(cluster: Any, namespace: str, candidate: Verified, old: dict[str, Any] | None) -> str:
    try:
        check_floor(candidate.keyring, cluster.floor(namespace))
        spec = (old or {}).get("spec") or {}
        digest = str(spec.get("manifestDigest")).removeprefix("sha256:")
        last = Applied(int(spec["sequence"]), digest) if old else None
        return f"{decide(candidate.verified, last).value} (allowed)"
    except BundleError as exc:
        return f"refused: {exc}"
