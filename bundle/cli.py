"""`outpost keys …` and `outpost bundle …`: keys, keyrings, building and verifying bundles.

I/O shell: parses options, reads the real clock, shows progress, prints results. Everything it
decides is delegated to `build`, `verify` and the pure modules they compose. `bundle verify`
exits 0 when the bundle verifies, 1 when it does not (the message names the failed check) and 2
on usage errors, also when it is embedded in scripts via `--output json`. Progress bars go to
stderr only when it is a terminal; `rich` is imported only then, so pipes and CI logs get no escape
codes and the verifier's memory stays small.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bundle.build import BuildRequest, build
from bundle.chartfacts import chart_scan_lines
from bundle.delta import check_base_match, coverage
from bundle.errors import BundleError, VerificationError
from bundle.interpreter import require_patched_tarfile
from bundle.keyfiles import load_private, read, write_new
from bundle.keyring import Keyring, decode_chain
from bundle.keys_cli import register
from bundle.manifest import VerifiedManifest
from bundle.plan_cli import plan_command
from bundle.rollback import Applied, DowngradePermit, decide, sign_permit, verify_permit
from bundle.stored import verify_chain
from bundle.timestamps import now_utc, parse_duration
from bundle.trustfloor import Floor, parse_floor
from bundle.verify import Verified, inspect, verify_bundle

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
OUTPUT = click.option(
    "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group("keys")
def keys() -> None:
    """Generate signing keys and manage signed keyrings."""


register(keys)


@click.group("bundle")
def bundle() -> None:
    """Build, verify, inspect and apply signed bundles."""


bundle.add_command(plan_command)


@bundle.command("build")
@click.argument("source", type=EXISTING_DIR)
@click.option("--version", "version", required=True, help="Product version, e.g. 2.14.0.")
@click.option("--sequence", required=True, type=click.IntRange(min=0), help="Monotonic number.")
@click.option("--keyring", required=True, type=EXISTING_FILE, help="Keyring file (chain).")
@click.option("--sign-with", multiple=True, required=True, type=EXISTING_FILE, help="Bundle key.")
@click.option("--image", multiple=True, type=EXISTING_DIR, help="OCI layout dir; repeatable.")
@click.option("--base", type=EXISTING_FILE, help="Build a delta carrying only what this lacks.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--product", default="outpost", show_default=True)
@click.option("--channel", default="stable", show_default=True)
@click.option("--expires", default="180d", show_default=True, help="Manifest lifetime.")
@OUTPUT
def build_command(**opts: Any) -> None:
    """Build and sign a bundle from SOURCE (crds/, charts/, resources/) and OCI layouts.

    \b
    Example:
      outpost bundle build ./release --version 2.14.0 --sequence 1042 \\
        --keyring keyring.json --sign-with bundle.key --image ./oci/api --out acme.bundle.tar
    """
    request = BuildRequest(
        opts["source"],
        opts["out"],
        opts["version"],
        opts["sequence"],
        opts["product"],
        opts["channel"],
        parse_duration(opts["expires"]),
        tuple(opts["image"]),
        opts["base"],
    )
    chain = decode_chain(read(opts["keyring"], "keyring file"), str(opts["keyring"]))
    signers = [load_private(p) for p in opts["sign_with"]]
    with progress_bar("building", None) as advance:
        result = build(request, chain, signers, now_utc(), advance)
    summary: dict[str, Any] = {"path": str(result.path), "manifest_sha256": result.digest}
    summary |= {"sequence": result.manifest.sequence, "files": len(result.manifest.files)}
    text = f"wrote {result.path} (manifest sha256 {result.digest})"
    if result.manifest.base is not None:
        summary["base"] = result.manifest.base.to_dict()
        summary["carriedBytes"] = result.manifest.total_bytes
        text += (
            f"\ndelta of sequence {result.manifest.base.sequence}: carries"
            f" {len(result.manifest.carried)} of {len(result.manifest.files)} files"
            f" ({result.manifest.total_bytes} bytes)"
        )
    _emit(summary, opts["output"], text)


@bundle.command("verify")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@click.option("--extract", type=click.Path(path_type=Path), help="Stage content into this new dir.")
@click.option("--last-sequence", type=click.IntRange(min=0), help="Sequence applied last.")
@click.option("--last-digest", default="", help="Manifest sha256 of the bundle applied last.")
@click.option("--permit", type=EXISTING_FILE, help="Signed downgrade permit for this bundle.")
@click.option(
    "--min-keyring-version",
    "floor",
    metavar="N[:sha256:DIGEST]",
    help="Newest keyring already trusted (as printed by an earlier verify); older chains fail.",
)
@click.option("--base", type=EXISTING_FILE, help="A delta's base bundle: check what it holds.")
@OUTPUT
def verify_command(**opts: Any) -> None:
    """Verify a bundle offline: keyring chain, signatures, expiry, every file, the OCI graph.

    With --last-sequence, also apply the anti-rollback rule against what was applied last.
    With --min-keyring-version, refuse a keyring chain that ends below the keyring already
    trusted (or at its version with another keyring): a retired key cannot sign again.
    A delta verified without --base says which files (left to its base) it did not check.
    """
    require_patched_tarfile()
    path, decision = opts["path"], Admission(opts)
    floor = parse_floor(opts["floor"]) if opts["floor"] else None
    try:
        with progress_bar("verifying", path.stat().st_size) as advance:
            trust = read(opts["trust"], "trust root")
            result = verify_bundle(
                path, trust, now_utc(), staging=opts["extract"], progress=advance, admit=decision,
                floor=floor,
            )  # fmt: skip
            base = _verify_base(opts["base"], result, trust)
    except VerificationError as exc:
        _fail(exc, opts["output"])
        return
    summary = _verified_summary(result) | {"decision": decision.outcome}
    text = _verified_text(result)
    gaps = coverage(result.manifest)
    if gaps is not None and base is None:
        summary["delta"] = gaps.to_dict() | {"complete": False}
        text += "\n" + gaps.text()
    elif gaps is not None and base is not None:
        summary["delta"] = gaps.to_dict() | {"complete": True, "notChecked": None}
        text += f"\ndelta: every file left to the base checked against {base.path}"
    _emit(summary, opts["output"], text)


def _verify_base(path: Path | None, delta: Verified, trust: bytes) -> Verified | None:
    """Verify the base bundle too and match it against what the delta leaves to it."""
    if path is None:
        return None
    with progress_bar("verifying base", path.stat().st_size) as advance:
        base = verify_bundle(path, trust, now_utc(), progress=advance)
    check_base_match(delta.manifest, base.verified)
    return base


class Admission:
    """The anti-rollback check `verify_bundle` runs before reading any content."""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.opts = opts
        self.outcome: str | None = None

    def __call__(self, candidate: VerifiedManifest, keyring: Keyring) -> None:
        """Run the offline anti-rollback check against the sequence the operator says is applied."""
        if self.opts["last_sequence"] is None:
            return
        last = Applied(self.opts["last_sequence"], self.opts["last_digest"])
        permit = None
        if self.opts["permit"] is not None:
            permit = verify_permit(read(self.opts["permit"], "permit"), keyring, now_utc())
        self.outcome = decide(candidate, last, permit).value


@bundle.command("apply")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: $KUBECONFIG.")
@click.option("--namespace", default="outpost-system", show_default=True, help="Agent namespace.")
@click.option("--permit", type=EXISTING_FILE, help="Signed downgrade permit for this bundle.")
@click.option("--skip-images", is_flag=True, help="Images are already in your registry.")
@click.option("--dry-run", is_flag=True, help="Verify and print the plan; write nothing.")
@click.option(
    "--health-timeout", default="", metavar="DURATION",
    help="Roll back to the bundle in force if this upgrade's Tenants and Applications are not"
    " all Ready within it (e.g. 20s, 10m; default 10m).",
)  # fmt: skip
@OUTPUT
def apply_command(**opts: Any) -> None:
    """Verify a bundle, store its content in the cluster and hand it to the agent.

    Checks the bundle against the trust root and the anti-rollback rule (Bundles already in the
    cluster) before writing anything; then stores CRDs, resources and charts in content-addressed
    immutable ConfigMaps in the agent namespace (created if missing) and creates the Bundle object,
    which the agent verifies again and applies. Bundles with images need `outpost airgap import`.
    """
    from bundle.cluster import Cluster
    from bundle.handoff import ApplyRequest, apply_bundle

    require_patched_tarfile()
    path, permit = opts["path"], opts["permit"]
    request = ApplyRequest(
        path, read(opts["trust"], "trust root"), opts["namespace"],
        read(permit, "permit") if permit else None, opts["skip_images"], opts["dry_run"],
        health_timeout=opts["health_timeout"],
    )  # fmt: skip
    cluster = Cluster(opts["kubeconfig"])
    try:
        with progress_bar("verifying", path.stat().st_size) as advance:
            plan = apply_bundle(request, cluster, now_utc(), advance)
    except VerificationError as exc:
        _fail(exc, opts["output"])
        return
    text = plan.text()
    if not opts["dry_run"] and not plan.noop:
        text += f"\ncreated Bundle {plan.bundle}; the agent verifies and applies it"
    _emit(plan.to_dict() | {"dry_run": opts["dry_run"]}, opts["output"], text)


@bundle.command("permit")
@click.option("--keyring", required=True, type=EXISTING_FILE, help="Keyring file (chain).")
@click.option("--sign-with", multiple=True, required=True, type=EXISTING_FILE, help="Bundle key.")
@click.option("--product", default="outpost", show_default=True)
@click.option("--channel", default="stable", show_default=True)
@click.option("--sequence", required=True, type=click.IntRange(min=0), help="Target sequence.")
@click.option("--version", "version", required=True, help="Target version.")
@click.option("--expires", default="30d", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def permit_command(**opts: Any) -> None:
    """Sign a downgrade permit allowing exactly one older bundle (product, channel, sequence)."""
    now = now_utc()
    chain = read(opts["keyring"], "keyring file")
    keyring = verify_chain(chain, chain, now)
    permit = DowngradePermit(
        opts["product"], opts["channel"], opts["sequence"], opts["version"],
        now + parse_duration(opts["expires"]),
    )  # fmt: skip
    envelope = sign_permit(permit, [load_private(p) for p in opts["sign_with"]]).to_json()
    try:
        verify_permit(envelope, keyring, now)
    except VerificationError as exc:
        raise BundleError(f"cannot sign the permit: {exc}") from exc
    write_new(opts["out"], envelope, 0o644)
    click.echo(f"wrote downgrade permit for sequence {permit.target_sequence} to {opts['out']}")


def _fail(exc: BundleError, output: str) -> None:
    if output == "json":
        click.echo(json.dumps({"verified": False, "error": str(exc), "check": type(exc).__name__}))
    click.echo(f"error: {exc}", err=True)
    # Not ctx.exit(): the root runs click with standalone_mode=False, where Exit becomes a return
    # value that the root does not pass on; SystemExit keeps exit code 1 in every runner.
    sys.exit(exc.exit_code)


def _verified_summary(result: Verified) -> dict[str, Any]:
    manifest = result.manifest
    return {
        "verified": True,
        "product": manifest.product,
        "channel": manifest.channel,
        "version": manifest.version,
        "sequence": manifest.sequence,
        "manifest_sha256": result.verified.digest,
        "signers": list(result.verified.signers),
        "files": len(manifest.files),
        "staging": str(result.staging) if result.staging else None,
        "keyring": str(Floor(result.keyring.version, result.keyring.digest)),
        "images": manifest.to_dict()["images"],
    }


def _verified_text(result: Verified) -> str:
    m = result.manifest
    return (
        f"verified {result.path}: {m.product} {m.version} (sequence {m.sequence}, channel"
        f" {m.channel}), {len(m.files)} files, manifest sha256 {result.verified.digest},"
        f" keyring {Floor(result.keyring.version, result.keyring.digest)}"
    )


@bundle.command("inspect")
@click.argument("path", type=EXISTING_FILE)
@OUTPUT
def inspect_command(path: Path, output: str) -> None:
    """Show what a bundle says about itself (UNVERIFIED; use `verify` to check it)."""
    require_patched_tarfile()
    info = inspect(path)
    skip = ("images", "charts", "resources", "base", "referrers", "chart_scan")
    lines = [f"{k}: {v}" for k, v in info.items() if k not in skip]
    if info.get("base"):
        base = info["base"]
        lines.append(
            f"base: sequence {base['sequence']} version {base['version']} manifest"
            f" {base['manifestDigest']} (delta: {info['files_from_base']} files left to the base)"
        )
    lines += [f"chart: {c['name']} {c['version']}" for c in info["charts"]]
    lines += [f"resource: {r['path']}" for r in info["resources"]]
    lines += [
        f"image: {i['source']} {i['digest']} {','.join(i['platforms'])}" for i in info["images"]
    ]
    lines += [
        f"referrer: {r['artifactType']} {r['digest']} of {r['subject']}" for r in info["referrers"]
    ]
    _emit(info, output, "\n".join(lines + chart_scan_lines(info["chart_scan"])))


def _emit(data: dict[str, Any], output: str, text: str) -> None:
    click.echo(json.dumps(data, indent=1) if output == "json" else text)


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield a callback taking the number of bytes just processed."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
