"""`outpost license issue|verify|apply`: sign a licence (vendor), check it and store it (customer).

I/O shell over `bundle.license` (pure). `verify` exits 0 for a valid licence, 1 when it does
not verify or is past its expiry, 2 on usage errors. `apply` verifies first, refuses a licence
older than one already stored in the cluster, then creates or replaces the cluster-scoped
License object; the agent verifies it again at every visit.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from bundle.errors import BundleError, ExpiredError, VerificationError
from bundle.keyfiles import load_private, read, write_new
from bundle.keyring import decode_chain, load_trust_root
from bundle.license import (
    EXPIRING_WINDOW,
    License,
    VerifiedLicense,
    check_newer,
    newest,
    parse_entitlement,
    sign_license,
    verify_license,
)
from bundle.timestamps import format_time, now_utc, parse_duration, parse_time
from facts.api import API_VERSION
from facts.objects import KubeObject

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
OUTPUT = click.option(
    "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group("license")
def license_group() -> None:
    """Issue, verify and apply signed licences (entitlements the agent enforces offline)."""


def _when(text: str, base: datetime, option: str) -> datetime:
    """A duration after `base` ('365d') or an RFC 3339 UTC time."""
    if text.endswith("Z"):
        try:
            return parse_time(text, option)
        except ValueError as exc:
            raise BundleError(str(exc)) from exc
    return base + parse_duration(text)


@license_group.command("issue")
@click.option("--keyring", required=True, type=EXISTING_FILE, help="Vendor keyring file (chain).")
@click.option("--sign-with", multiple=True, required=True, type=EXISTING_FILE, help="License key.")
@click.option("--customer", required=True, help="Customer name, shown in the License object.")
@click.option("--expires", required=True, help="Lifetime ('365d') or an RFC 3339 UTC time.")
@click.option("--entitlement", multiple=True, help="NAME=VALUE, e.g. maxTenants=10; repeatable.")
@click.option(
    "--cluster-uid", default="", help="Bind to the cluster whose kube-system has this uid."
)
@click.option("--grace", default="", help="Grace period after expiry, e.g. 14d (default none).")
@click.option("--issued", default="", help="Issue time (RFC 3339 UTC); default: now.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@OUTPUT
def issue_command(**opts: Any) -> None:
    """Write a licence signed by the keyring's `license` role (vendor side).

    \b
    Example:
      outpost license issue --keyring keyring.json --sign-with license.key --customer acme \\
        --expires 365d --entitlement maxTenants=10 --entitlement feature.sso=true --out acme.json
    """
    chain = decode_chain(read(opts["keyring"], "keyring file"), str(opts["keyring"]))
    keyring, _ = load_trust_root(chain)
    issued = _when(opts["issued"], now_utc(), "--issued") if opts["issued"] else now_utc()
    lic = License(
        opts["customer"],
        issued.replace(microsecond=0),
        _when(opts["expires"], issued, "--expires").replace(microsecond=0),
        parse_duration(opts["grace"]) if opts["grace"] else timedelta(0),
        dict(parse_entitlement(e) for e in opts["entitlement"]),
        opts["cluster_uid"],
    )
    data = sign_license(lic, chain, keyring, [load_private(p) for p in opts["sign_with"]])
    write_new(opts["out"], data, 0o644)
    summary = {
        "path": str(opts["out"]),
        "customer": lic.customer,
        "expires": format_time(lic.expires),
    }
    _emit(
        summary,
        opts["output"],
        f"wrote {opts['out']} ({lic.customer}, expires {summary['expires']})",
    )


@license_group.command("verify")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@OUTPUT
def verify_command(path: Path, trust: Path, output: str) -> None:
    """Verify a licence offline against the trust root; exit 1 if it does not verify or expired."""
    verified = _verify(path, trust)
    now = now_utc()
    summary = describe(verified, now)
    lines = [f"{k}: {v}" for k, v in summary.items() if k != "entitlements"]
    lines += [f"entitlement {k}={v}" for k, v in summary["entitlements"].items()]
    _emit(summary, output, "\n".join(lines))
    if now >= verified.license.expires:
        raise ExpiredError(f"expiry check failed: the licence expired at {summary['expires']}")


def _verify(path: Path, trust: Path) -> VerifiedLicense:
    chain = decode_chain(read(trust, "trust root"), str(trust))
    return verify_license(read(path, "licence file"), chain, now_utc())


def describe(verified: VerifiedLicense, now: datetime) -> dict[str, Any]:
    """The licence as printed: who, until when, what it grants, and its state at `now`."""
    lic = verified.license
    state = "valid"
    if now >= lic.expires:
        state = "in grace period" if now < lic.grace_end else "expired"
    elif now >= lic.expires - EXPIRING_WINDOW:
        state = "expiring"
    return {
        "customer": lic.customer,
        "state": state,
        "issued": format_time(lic.issued),
        "expires": format_time(lic.expires),
        "graceEnds": format_time(lic.grace_end),
        "clusterUID": lic.cluster_uid or "(any)",
        "digest": f"sha256:{verified.digest}",
        "entitlements": {
            k: json.dumps(v) if isinstance(v, bool) else v
            for k, v in sorted(lic.entitlements.items())
        },
    }


@license_group.command("apply")
@click.argument("path", type=EXISTING_FILE)
@click.option("--trust", required=True, type=EXISTING_FILE, help="Trust-root keyring file.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: $KUBECONFIG.")
@click.option("--name", default="", help="License object name (default: from the customer).")
@OUTPUT
def apply_command(path: Path, trust: Path, kubeconfig: str | None, name: str, output: str) -> None:
    """Verify a licence and store it as the cluster-scoped License object."""
    from bundle.cluster import Cluster

    verified = _verify(path, trust)
    cluster = Cluster(kubeconfig)
    chain = decode_chain(read(trust, "trust root"), str(trust))
    stored = []
    for obj in cluster.licenses():
        try:
            text = str((obj.get("spec") or {}).get("license") or "").encode()
            stored.append(verify_license(text, chain, now_utc()))
        except VerificationError:
            continue  # a stored licence that does not verify protects nothing
    check_newer(verified, newest(stored))
    lic = verified.license
    body: KubeObject = {
        "apiVersion": API_VERSION,
        "kind": "License",
        "metadata": {"name": name or object_name(lic.customer)},
        "spec": {
            "license": read(path, "licence file").decode(),
            "customer": lic.customer,
            "expires": format_time(lic.expires),
        },
    }
    done = cluster.put_license(body)
    summary = {"license": body["metadata"]["name"], "result": done, "customer": lic.customer}
    _emit(summary, output, f"License '{body['metadata']['name']}' {done} ({lic.customer})")


def object_name(customer: str) -> str:
    """A DNS-label object name from the customer's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", customer.lower()).strip("-")[:55].strip("-")
    return f"license-{slug}" if slug else "license"


def _emit(data: dict[str, Any], output: str, text: str) -> None:
    click.echo(json.dumps(data, indent=1) if output == "json" else text)
