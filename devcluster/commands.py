"""Command lines of the control-plane components, in start order. Everything binds 127.0.0.1.

Service and pod CIDRs are fake ranges that nothing ever dials: kwok only pretends pods run,
and the apiserver's `kubernetes` Endpoints reconciler is off because a loopback advertise
address fails its validation.
"""

from __future__ import annotations

from pathlib import Path

from devcluster.build import BinDir
from devcluster.pki import Pki

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODE_ANNOTATION = "kwok.x-k8s.io/node"


def component_commands(
    bins: BinDir, root: Path, certs: Pki, ports: dict[str, int]
) -> dict[str, list[str]]:
    """The command line of each component, wired to its ports, certificates and data dirs."""
    return {
        "etcd": _etcd(bins, root, ports),
        "kube-apiserver": _apiserver(bins, certs, ports),
        "kube-controller-manager": _controller_manager(bins, root, certs, ports),
        "kube-scheduler": _scheduler(bins, root, ports),
        "kwok": _kwok(bins, root),
    }


def _etcd(bins: BinDir, root: Path, ports: dict[str, int]) -> list[str]:
    client = f"http://127.0.0.1:{ports['etcd-client']}"
    peer = f"http://127.0.0.1:{ports['etcd-peer']}"
    return [
        str(bins["etcd"]),
        "--name=node0",
        f"--data-dir={root / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node0={peer}",
        "--listen-metrics-urls=",
        "--unsafe-no-fsync=true",
        "--auto-compaction-retention=1",
        "--quota-backend-bytes=8589934592",
    ]


def _apiserver(bins: BinDir, certs: Pki, ports: dict[str, int]) -> list[str]:
    return [
        str(bins["kube-apiserver"]),
        f"--etcd-servers=http://127.0.0.1:{ports['etcd-client']}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['apiserver']}",
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        f"--tls-cert-file={certs.path('apiserver.crt')}",
        f"--tls-private-key-file={certs.path('apiserver.key')}",
        f"--client-ca-file={certs.ca_cert}",
        "--authorization-mode=Node,RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={certs.path('sa.pub')}",
        f"--service-account-signing-key-file={certs.path('sa.key')}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def _controller_manager(bins: BinDir, root: Path, certs: Pki, ports: dict[str, int]) -> list[str]:
    kubeconfig = root / "controller-manager.kubeconfig"
    return [
        str(bins["kube-controller-manager"]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['controller-manager']}",
        "--leader-elect=false",
        f"--service-account-private-key-file={certs.path('sa.key')}",
        f"--root-ca-file={certs.ca_cert}",
        "--use-service-account-credentials=true",
        "--node-monitor-period=5s",
        "--node-monitor-grace-period=40s",
    ]


def _scheduler(bins: BinDir, root: Path, ports: dict[str, int]) -> list[str]:
    kubeconfig = root / "scheduler.kubeconfig"
    return [
        str(bins["kube-scheduler"]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['scheduler']}",
    ]


def _kwok(bins: BinDir, root: Path) -> list[str]:
    return [
        str(bins["kwok"]),
        f"--kubeconfig={root / 'kwok.kubeconfig'}",
        f"--config={bins.kwok_stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
        "--manage-nodes-with-label-selector=",
        "--manage-single-node=",
        f"--cidr={POD_CIDR}",
        "--node-ip=127.0.0.1",
        "--node-lease-duration-seconds=40",
    ]
