"""Support bundles on the real control plane: planted credentials never leave, tampering shows.

Credentials are planted in a Secret, a ConfigMap (a password, a PEM private key, a connection
string with a password), a container env var, an annotation and an agent log line. The archive
is decompressed and every member grepped: none of the planted values may appear, and every
planted place must be listed in the redaction report (by member and location, not by value).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import Cluster
from wire.keys import key_to_pem
from wire.protocol import public_key_b64

OUTPOST = str(Path(sys.executable).parent / "outpost")
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIPlantedPlantedPlantedPlantedPlanted0\n"
    "-----END PRIVATE KEY-----"
)
PLANTED = {
    "secret": "s3cr3t-in-a-secret-7f1",
    "configmap": "hunter2-planted-cm",
    "pem": "PlantedPlantedPlantedPlantedPlanted0",
    "dsn": "dbpass-planted-91",
    "env": "env-token-planted-55",
    "annotation": "annotation-apikey-planted-3",
    "log": "log-password-planted-8",
}
DSN = f"postgres://app:{PLANTED['dsn']}@db:5432/app"


def apply(cluster: Cluster, doc: dict[str, Any]) -> None:
    proc = subprocess.run([str(cluster.kubectl), "apply", "-f", "-"], input=json.dumps(doc),
                          env=cluster.env, text=True, capture_output=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def plant(cluster: Cluster, ns: str) -> None:
    cluster.kubectl_run("label", "namespace", ns, "outpost.dev/tenant=support-test")
    apply(cluster, {"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "db", "namespace": ns},
                    "stringData": {"password": PLANTED["secret"]}})  # fmt: skip
    apply(cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": ns},
                    "data": {"password": PLANTED["configmap"], "tls.key": PEM,
                             "database": DSN}})  # fmt: skip
    container = {"name": "app", "image": "registry.example/app:1",
                 "env": [{"name": "API_TOKEN", "value": PLANTED["env"]}]}  # fmt: skip
    apply(cluster, {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "app", "namespace": ns,
                                 "annotations": {"vendor.example/api-key": PLANTED["annotation"]}},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                             "template": {"metadata": {"labels": {"app": "x"}},
                                          "spec": {"containers": [container]}}}})  # fmt: skip


def identity(cluster: Cluster, ns: str) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    data = {"key.pem": base64.b64encode(key_to_pem(key)).decode()}
    apply(cluster, {"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "outpost-agent-identity", "namespace": ns},
                    "data": data})  # fmt: skip
    return key


def outpost(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OUTPOST, *args], env=cluster.env, text=True, capture_output=True,
                          check=False, timeout=300)  # fmt: skip


def test_planted_credentials_never_leave_and_tampering_fails(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    plant(cluster, namespace)
    key = identity(cluster, namespace)
    log = tmp_path / "agent.log"
    log.write_text(f"INFO starting\nDEBUG connecting with password={PLANTED['log']}\nINFO ok\n")
    out = tmp_path / "support.tar.gz"
    made = outpost(cluster, "support-bundle", "--out", str(out), "--agent-namespace", namespace,
                   "--agent-log", str(log), "--kubeconfig", str(cluster.kubeconfig),
                   "--output", "json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    members = read_members(out)
    for name, data in members.items():
        for what, value in PLANTED.items():
            assert value.encode() not in data, f"planted {what} found in {name}"
    report = json.loads(members["redactions.json"])["redactions"]
    places = {(r["member"], r["location"]) for r in report}
    cms = f"namespaces/{namespace}/configmaps.json"
    work = f"namespaces/{namespace}/workloads.json"
    expected = [(cms, "password"), (cms, "tls.key"), (cms, "database"), (work, "value"),
                (work, "vendor.example/api-key"), ("logs/agent.log", "line 2")]  # fmt: skip
    for member, where in expected:
        assert any(m == member and where in loc for m, loc in places), (member, where, places)
    assert not any("Secret" in n or "secrets" in n for n in members)
    pub = public_key_b64(key.public_key())
    assert (
        outpost(cluster, "support-bundle", "verify", str(out), "--agent-key", pub).returncode == 0
    )
    tampered = tamper(out, tmp_path / "tampered.tar.gz", "nodes.json")
    result = outpost(cluster, "support-bundle", "verify", str(tampered), "--agent-key", pub)
    assert result.returncode == 1
    assert "changed after signing" in result.stderr
    other = public_key_b64(Ed25519PrivateKey.generate().public_key())
    assert (
        outpost(cluster, "support-bundle", "verify", str(out), "--agent-key", other).returncode == 1
    )


def read_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]


def tamper(src: Path, dst: Path, member: str) -> Path:
    members = read_members(src)
    members[member] = members[member].replace(b"Ready", b"Fine!")
    with tarfile.open(dst, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, __import__("io").BytesIO(data))
    return dst
