"""Building signed sample bundles with synthetic multi-arch images, and running `airgap import`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgap.synthetic import ImageSpec, write_layout
from bundle.build import BuildRequest, build
from bundle.keyfiles import generate, load_private, load_public, write_new
from bundle.keyring import decode_chain, encode_chain
from bundle.rotation import RoleSpec, make_keyring, sign_first
from bundle.sample import EXAMPLES, ROLES
from bundle.timestamps import now_utc, parse_duration
from tests.cluster.agent.agentkit import Kubectl
from tests.conftest import Cluster

OUTPOST = Path(sys.executable).parent / "outpost"
WEBAPP = "registry.acme.example/acme/webapp:1.4.2"
REPORT_API = "registry.acme.example/acme/report-api:2.0.1"
KIB = 1024


@dataclass(frozen=True)
class SampleKeys:
    directory: Path
    trust: Path

    @property
    def bundle_key(self) -> Path:
        return self.directory / "sample-bundle.key"


def make_keys(directory: Path) -> SampleKeys:
    """Throwaway keys for every role and a trust-root keyring (as `bundle.sample` makes them)."""
    for role in ROLES:
        generate(directory / f"sample-{role}")
    public = {r: load_public(directory / f"sample-{r}.pub") for r in ROLES}
    keyring = make_keyring(
        1, now_utc() + parse_duration("365d"), {r: RoleSpec((k,)) for r, k in public.items()}
    )
    root = load_private(directory / "sample-root.key")
    trust = directory / "trust-root.json"
    write_new(trust, encode_chain([sign_first(keyring, [root])]), 0o644)
    return SampleKeys(directory, trust)


def sample_images(directory: Path, big: int = 0, seed: int = 7) -> Path:
    """The sample's two images, each for linux/amd64 and linux/arm64 (`big`: one large layer)."""
    sizes = (2 * KIB, 24 * KIB, *((big,) if big else ()))
    specs = [ImageSpec(WEBAPP, layer_sizes=sizes), ImageSpec(REPORT_API, layer_sizes=(4 * KIB,))]
    write_layout(directory, specs, seed=seed)
    return directory


def build_bundle(
    keys: SampleKeys, out_dir: Path, product: str, images: Path, sequence: int = 1
) -> Path:
    """The examples/bundle specs and charts plus `images`, signed for `product`."""
    out = out_dir / f"{product}-seq{sequence}.bundle.tar"
    request = BuildRequest(EXAMPLES, out, "1.4.2", sequence, product=product, images=(images,))
    chain = decode_chain(keys.trust.read_bytes())
    build(request, chain, [load_private(keys.bundle_key)], now_utc())
    return out


def import_argv(
    cluster: Cluster, bundle: Path, keys: SampleKeys, registry: str, namespace: str, *extra: str
) -> list[str]:
    return [
        str(OUTPOST), "airgap", "import", str(bundle), "--trust", str(keys.trust),
        "--registry", registry, "--kubeconfig", str(cluster.kubeconfig),
        "--namespace", namespace, *extra,
    ]  # fmt: skip


def run_import(
    cluster: Cluster,
    bundle: Path,
    keys: SampleKeys,
    registry: str,
    namespace: str,
    *extra: str,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    argv = import_argv(cluster, bundle, keys, registry, namespace, *extra)
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )


def imported(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `--output json` document of a successful run."""
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def tamper_layer(bundle: Path, layout: Path) -> None:
    """Flip one byte inside the largest layer blob as stored in the bundle tar."""
    blobs = sorted((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    data = blobs[-1].read_bytes()
    raw = bytearray(bundle.read_bytes())
    at = raw.find(data[:4096])
    assert at > 0, "layer not found in the bundle"
    raw[at + len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(raw))


@dataclass(frozen=True)
class Site:
    """One test's customer site: the cluster, an agent namespace, a product of its own, keys."""

    cluster: Cluster
    kubectl: Kubectl
    keys: SampleKeys
    product: str
    namespace: str
    tmp: Path

    def bundle(self, big: int = 0, seed: int = 7, sequence: int = 1) -> tuple[Path, Path]:
        """(bundle, its OCI layout) with the sample specs and synthetic images."""
        layout = sample_images(self.tmp / f"oci-{seed}-{big}", big, seed)
        return build_bundle(self.keys, self.tmp, self.product, layout, sequence), layout

    def argv(self, bundle: Path, registry: str, *extra: str) -> list[str]:
        return import_argv(self.cluster, bundle, self.keys, registry, self.namespace, *extra)

    def run(
        self, bundle: Path, registry: str, *extra: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_import(
            self.cluster, bundle, self.keys, registry, self.namespace, *extra, stdin=stdin
        )

    def bundle_object(self, sequence: int = 1) -> dict[str, Any] | None:
        return self.kubectl.get("bundle", f"{self.product}-stable-{sequence}")
