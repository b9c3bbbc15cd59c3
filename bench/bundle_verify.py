"""Benchmark: `outpost bundle verify` vs `sha256sum` on the same multi-GB bundle, in one run.

Builds (or takes, with --bundle/--trust) a bundle whose bulk is an OCI layout of large layers,
warms the page cache, then runs side by side, best of --rounds:
  1. our verifier (the real `bundle verify` command in a subprocess, 1 MiB reads): wall time,
     MB/s, and its peak RSS read with resource.getrusage(RUSAGE_CHILDREN) (target ≤ 64 MB);
  2. `sha256sum FILE`: wall time and MB/s.
Prints both and the ratio ours/sha256sum in throughput (target ≥ 0.9).

Usage: .venv/bin/python bench/bundle_verify.py [--size 2G] [--workdir DIR] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bundle.build import BuildRequest, build  # noqa: E402
from bundle.keyring import encode_chain  # noqa: E402
from bundle.rotation import RoleSpec, make_keyring, sign_first  # noqa: E402
from bundle.timestamps import now_utc, parse_duration  # noqa: E402

MIB = 1024 * 1024
LAYER = 256 * MIB
CHILD = "import sys; from bundle.cli import bundle; bundle.main(sys.argv[1:], prog_name='outpost')"
OCI = "application/vnd.oci.image"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write_blob(blobs: Path, size: int, seed: int) -> dict[str, object]:
    """Stream `size` bytes (a random MiB repeated, a per-blob prefix) into a blob; 1 MiB writes."""
    block = os.urandom(MIB)
    digest = hashlib.sha256()
    tmp = blobs / f"tmp-{seed}"
    with tmp.open("wb") as f:
        written = 0
        while written < size:
            chunk = (seed.to_bytes(8, "big") + block)[: min(MIB, size - written)]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    tmp.rename(blobs / digest.hexdigest())
    return {
        "mediaType": f"{OCI}.layer.v1.tar+gzip",
        "digest": f"sha256:{digest.hexdigest()}",
        "size": size,
    }


def json_blob(blobs: Path, doc: dict[str, object], media_type: str) -> dict[str, object]:
    data = json.dumps(doc).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def write_layout(root: Path, total: int) -> None:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    sizes = [LAYER] * (total // LAYER) + ([total % LAYER] if total % LAYER else [])
    layers = [write_blob(blobs, size, i) for i, size in enumerate(sizes)]
    config = json_blob(blobs, {"architecture": "amd64", "os": "linux"}, f"{OCI}.config.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": f"{OCI}.manifest.v1+json",
        "config": config,
        "layers": layers,
    }
    top = json_blob(blobs, manifest, f"{OCI}.manifest.v1+json")
    top["annotations"] = {"org.opencontainers.image.ref.name": "registry.acme.dev/bench/big:1"}
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


def build_bundle(work: Path, size: int) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    root, signer = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    now = now_utc()
    ring = make_keyring(
        1,
        now + parse_duration("30d"),
        {"root": RoleSpec((root.public_key(),)), "bundle": RoleSpec((signer.public_key(),))},
    )
    envelope = sign_first(ring, [root])
    trust = work / "trust-root.json"
    trust.write_bytes(encode_chain([envelope]))
    src = work / "src"
    (src / "resources").mkdir(parents=True)
    (src / "resources" / "10-app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    write_layout(work / "oci", size)
    request = BuildRequest(src, work / "bench.bundle.tar", "1.0.0", 1, images=(work / "oci",))
    build(request, [envelope.to_json()], [signer], now)
    shutil.rmtree(work / "oci")  # keep only the bundle on disk
    return request.out, trust


def warm(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(MIB):
            pass


def run_ours(bundle: Path, trust: Path) -> float:
    argv = [sys.executable, "-c", CHILD, "verify", str(bundle), "--trust", str(trust)]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"our verify failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def run_sha256sum(bundle: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(bundle)], capture_output=True, check=True)
    return time.perf_counter() - start


def measure(bundle: Path, trust: Path, rounds: int) -> dict[str, float]:
    warm(bundle)
    ours = min(run_ours(bundle, trust) for _ in range(rounds))
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB
    theirs = min(run_sha256sum(bundle) for _ in range(rounds))
    size = bundle.stat().st_size
    return {
        "bytes": size,
        "ours_seconds": round(ours, 3),
        "ours_mb_s": round(size / ours / 1e6, 1),
        "sha256sum_seconds": round(theirs, 3),
        "sha256sum_mb_s": round(size / theirs / 1e6, 1),
        "ratio": round(theirs / ours, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2G", help="content size of the built bundle")
    parser.add_argument("--bundle", type=Path, help="take this bundle instead of building one")
    parser.add_argument("--trust", type=Path, help="trust root for --bundle")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bundle-bench-", dir=args.workdir))
    try:
        if args.bundle:
            bundle, trust = args.bundle, args.trust
        else:
            start = time.perf_counter()
            bundle, trust = build_bundle(work, parse_size(args.size))
            print(f"built {bundle} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        report(measure(bundle, trust, args.rounds), args.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(json.dumps(r, indent=1))
        return
    print(f"bundle size        {r['bytes'] / 2**30:.2f} GiB")
    print(f"outpost verify     {r['ours_seconds']:7.2f} s  {r['ours_mb_s']:8.1f} MB/s")
    print(f"sha256sum          {r['sha256sum_seconds']:7.2f} s  {r['sha256sum_mb_s']:8.1f} MB/s")
    ok_ratio = "ok" if r["ratio"] >= 0.9 else "BELOW TARGET"
    ok_rss = "ok" if r["peak_rss_mib"] <= 64 else "ABOVE TARGET"
    print(f"throughput ratio   {r['ratio']:.3f} (target ≥ 0.9: {ok_ratio})")
    print(f"verifier peak RSS  {r['peak_rss_mib']:.1f} MiB (target ≤ 64: {ok_rss})")


if __name__ == "__main__":
    main()
