"""Benchmark: a delta bundle against the full bundle, for a release that changes one layer.

The base release is one image of `--base-mib` (four equal shared layers plus one layer of
`--changed-mib`); the new release replaces only that layer. Both bundles of the new release are
built (full, and delta with `--base`), then, side by side:
  1. size: the delta against the changed bytes (the blobs the base lacks; target ≤ 1.05×);
  2. verify: `verify_bundle` of each, seconds and MB/s of bundle file;
  3. import into a docker-registry that already holds the base: verify + stage + plan + push,
     as `airgap import` does before its cluster hand-off; bytes sent (target: the changed bytes,
     and nothing more, for both), seconds and MB/s of bundle file.

Usage: .venv/bin/python bench/airgap_delta.py [--base-mib 1024] [--changed-mib 200] [--json]
Needs /usr/bin/docker-registry (apt-get install docker-registry). Writes under $TMPDIR (about
seven times --base-mib); removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from airgap.importer import plan_images  # noqa: E402
from airgap.journal import UploadJournal  # noqa: E402
from airgap.localregistry import RegistryServer  # noqa: E402
from airgap.push import apply_push  # noqa: E402
from airgap.registry import open_client  # noqa: E402
from airgap.synthetic import ImageSpec, write_layout  # noqa: E402
from bundle.build import BuildRequest, build  # noqa: E402
from bundle.delta import base_blob_digests  # noqa: E402
from bundle.keyring import encode_chain  # noqa: E402
from bundle.rotation import RoleSpec, make_keyring, sign_first  # noqa: E402
from bundle.verify import verify_bundle  # noqa: E402

MIB = 1024 * 1024
REF = "registry.acme.dev/acme/db:2.0"
EXAMPLES = ROOT / "examples" / "bundle"


@dataclass(frozen=True)
class Vendor:
    chain: list[bytes]
    key: Ed25519PrivateKey
    trust: bytes


def vendor(now: datetime) -> Vendor:
    """Throwaway keys: one root and one bundle key, keyring v1."""
    root, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    roles = {r: RoleSpec((root.public_key(),)) for r in ("root", "hub", "license")}
    roles["bundle"] = RoleSpec((key.public_key(),))
    envelope = sign_first(make_keyring(1, now.replace(year=now.year + 1), roles), [root])
    return Vendor([envelope.to_json()], key, encode_chain([envelope]))


def layouts(work: Path, base_mib: int, changed_mib: int) -> tuple[Path, Path]:
    """(base layout, release layout): equal shared layers, the image's own layer changed."""
    shared = max(base_mib - changed_mib, 4) // 4 * MIB
    out = []
    for salt in ("", "+release-2"):
        spec = ImageSpec(
            REF,
            layer_sizes=(changed_mib * MIB,),
            platforms=("linux/amd64",),
            shared=(shared,) * 4,
            salt=salt,
        )
        root = work / f"layout{salt or '-base'}"
        write_layout(root, [spec], seed=1)
        out.append(root)
    return out[0], out[1]


def build_bundle(v: Vendor, out: Path, seq: int, layout: Path, base: Path | None) -> float:
    request = BuildRequest(EXAMPLES, out, f"2.{seq}", seq, images=(layout,), base=base)
    started = time.perf_counter()
    build(request, v.chain, [v.key], datetime.now(UTC))
    return time.perf_counter() - started


def timed_verify(path: Path, trust: bytes) -> float:
    started = time.perf_counter()
    verify_bundle(path, trust, datetime.now(UTC))
    return time.perf_counter() - started


def timed_import(path: Path, trust: bytes, server: RegistryServer, work: Path) -> tuple[float, int]:
    """Verify and stage, plan (HEAD), push: `airgap import` up to its cluster hand-off."""
    client = open_client(server.netloc, insecure_http=True)
    staging = work / f"stage-{path.stem}"
    started = time.perf_counter()
    verified = verify_bundle(path, trust, datetime.now(UTC), staging=staging)
    absent = base_blob_digests(verified.manifest)
    plan = plan_images(staging, client, UploadJournal(None), absent)
    assert plan is not None
    assert not plan.missing
    summary = apply_push(plan, client)
    seconds = time.perf_counter() - started
    client.close()
    shutil.rmtree(staging)
    return seconds, summary.bytes_sent


def changed_bytes(base: Path, release: Path) -> int:
    """Bytes of the release's blobs the base does not have."""
    held = {p.name for p in (base / "blobs" / "sha256").iterdir()}
    fresh = [p for p in (release / "blobs" / "sha256").iterdir() if p.name not in held]
    return sum(p.stat().st_size for p in fresh)


def run(base_mib: int, changed_mib: int, work: Path) -> dict[str, Any]:
    v = vendor(datetime.now(UTC))
    base_layout, release_layout = layouts(work, base_mib, changed_mib)
    base, full, delta = work / "base.tar", work / "full.tar", work / "delta.tar"
    build_bundle(v, base, 1, base_layout, None)
    build_bundle(v, full, 2, release_layout, None)
    build_seconds = build_bundle(v, delta, 2, release_layout, base)
    figures: dict[str, Any] = {"baseMiB": base_mib, "changedMiB": changed_mib}
    figures["changedBytes"] = changed_bytes(base_layout, release_layout)
    figures["bytes"] = {"full": full.stat().st_size, "delta": delta.stat().st_size}
    figures["deltaBuildSeconds"] = build_seconds
    figures["verifySeconds"] = {
        "full": timed_verify(full, v.trust),
        "delta": timed_verify(delta, v.trust),
    }
    figures["import"] = {}
    for name, bundle in (("full", full), ("delta", delta)):
        server = RegistryServer(work / f"registry-{name}")
        server.start()
        try:
            timed_import(base, v.trust, server, work)  # the site already holds the base
            seconds, sent = timed_import(bundle, v.trust, server, work)
        finally:
            server.stop()
        figures["import"][name] = {"seconds": seconds, "bytesSent": sent}
    return figures


def report(f: dict[str, Any]) -> None:
    changed, sizes = f["changedBytes"], f["bytes"]
    print(f"release changes one {f['changedMiB']} MiB layer of a {f['baseMiB']} MiB base")
    print(f"changed bytes (blobs the base lacks): {changed / MIB:9.1f} MiB")
    print(f"{'':18}{'full':>14}{'delta':>14}{'delta/full':>12}")
    ratio = sizes["delta"] / sizes["full"]
    print(f"{'bundle size MiB':18}{sizes['full'] / MIB:14.1f}{sizes['delta'] / MIB:14.1f}"
          f"{ratio:12.3f}")  # fmt: skip
    for label, key in (("verify s", "verifySeconds"),):
        full_s, delta_s = f[key]["full"], f[key]["delta"]
        print(f"{label:18}{full_s:14.2f}{delta_s:14.2f}{delta_s / full_s:12.3f}")
        print(f"{'verify MB/s':18}{sizes['full'] / full_s / 1e6:14.1f}"
              f"{sizes['delta'] / delta_s / 1e6:14.1f}")  # fmt: skip
    imp = f["import"]
    print(f"{'import s':18}{imp['full']['seconds']:14.2f}{imp['delta']['seconds']:14.2f}"
          f"{imp['delta']['seconds'] / imp['full']['seconds']:12.3f}")  # fmt: skip
    print(f"{'import MB/s':18}{sizes['full'] / imp['full']['seconds'] / 1e6:14.1f}"
          f"{sizes['delta'] / imp['delta']['seconds'] / 1e6:14.1f}")  # fmt: skip
    print(f"{'bytes sent MiB':18}{imp['full']['bytesSent'] / MIB:14.1f}"
          f"{imp['delta']['bytesSent'] / MIB:14.1f}")  # fmt: skip
    print(f"delta size / changed bytes: {sizes['delta'] / changed:.4f} (target ≤ 1.05)")
    print(
        f"delta import sent / changed bytes: {imp['delta']['bytesSent'] / changed:.4f}"
        " (target ≤ 1: only those bytes; the new manifest goes as a manifest)"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-mib", type=int, default=1024)
    parser.add_argument("--changed-mib", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not Path("/usr/bin/docker-registry").exists():
        raise SystemExit("needs docker-registry: apt-get install docker-registry")
    work = Path(tempfile.mkdtemp(prefix="outpost-bench-delta-"))
    try:
        figures = run(args.base_mib, args.changed_mib, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        report(figures)
    return figures


if __name__ == "__main__":
    main()
