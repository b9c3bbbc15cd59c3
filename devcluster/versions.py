"""What the local control plane is built from, and where the built binaries are cached.

The cache lives outside any work tree, keyed by every pinned version plus the Go toolchain, so
changing a pin or upgrading Go builds a fresh set beside the old one instead of mixing them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KUBERNETES = "v1.36.3"
KUBERNETES_STAGING = "v0.36.3"
ETCD = "v3.6.16"
KWOK = "v0.8.0"
HELM4 = "v4.3.1"
HELM3 = "v3.22.0"
# Registry test clients: built on demand, each under its own cache key (see `tools`), so they
# are not part of `version_key` and bumping one never rebuilds the control plane.
ORAS = "v1.3.6"
CRANE = "v0.22.1"

WRAPPERS = Path(__file__).resolve().parent / "testbin"


@dataclass(frozen=True)
class Target:
    """One `go build` in one wrapper module, producing one or more binaries."""

    wrapper: str
    packages: tuple[str, ...]
    outputs: tuple[str, ...]
    ldflags: str


def _kube_stamp() -> str:
    major, minor = KUBERNETES.lstrip("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def _helm3_stamp() -> str:
    minor = KUBERNETES_STAGING.split(".")[1]
    flags = [f"-X helm.sh/helm/v3/internal/version.version={HELM3}"]
    # Without these Helm 3 assumes Kubernetes v1.20 for `template` and `lint`.
    for pkg in ("helm.sh/helm/v3/pkg/chartutil", "helm.sh/helm/v3/pkg/lint/rules"):
        flags += [f"-X {pkg}.k8sVersionMajor=1", f"-X {pkg}.k8sVersionMinor={minor}"]
    return " ".join(flags)


KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")

TARGETS = (
    Target(
        "kube",
        tuple(f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS),
        KUBE_COMMANDS,
        _kube_stamp(),
    ),
    Target(
        "etcd",
        ("go.etcd.io/etcd/server/v3",),
        ("etcd",),
        f"-X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD}",
    ),
    Target("kwok", ("sigs.k8s.io/kwok/cmd/kwok",), ("kwok",), ""),
    Target(
        "helm4",
        ("helm.sh/helm/v4/cmd/helm",),
        ("helm",),
        f"-X helm.sh/helm/v4/internal/version.version={HELM4}",
    ),
    Target("helm3", ("helm.sh/helm/v3/cmd/helm",), ("helm3",), _helm3_stamp()),
)

ALL_BINARIES = tuple(name for t in TARGETS for name in t.outputs)


def cache_root(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """`$OUTPOST_CACHE_DIR`, else `$XDG_CACHE_HOME/outpost`, else `~/.cache/outpost`."""
    env = os.environ if env is None else env
    if env.get("OUTPOST_CACHE_DIR"):
        return Path(env["OUTPOST_CACHE_DIR"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outpost"


def version_key(go_version: str) -> str:
    """The cache key of a build: every pinned version and the Go toolchain."""
    return f"k8s{KUBERNETES}-etcd{ETCD}-kwok{KWOK}-helm{HELM4}-helm{HELM3}-{go_version}"
