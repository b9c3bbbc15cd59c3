"""SupportBundleRequest on the real control plane, with a real agent and a real hub on loopback.

The customer creates a request in the agent namespace; the agent produces the archive, keeps it
in a Secret there, records size, members, redactions and sha256 in the request's status, and
uploads it to the hub only while `support` is in hub.share. With the default share, the next
request is produced and kept but not sent: the hub still holds one bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub import support_store
from tests.cluster.agent.agentkit import OUTPOST, Agents, Kubectl, unique, wait_for
from tests.unit.hub.hubkit import Clock, HubKit, ServedHub
from wire import supportbundle
from wire.keys import key_from_pem
from wire.protocol import public_key_b64

PLANTED = "hunter2-request-planted"
KIND = "supportbundlerequest"


class LiveClock(Clock):
    """The hub's clock is the real one: the agent signs reports with the time it reads."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def request(name: str, namespace: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": "outpost.dev/v1alpha1", "kind": "SupportBundleRequest",
            "metadata": meta, "spec": {"since": "1h"}}  # fmt: skip


def finished(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any] | None:
    obj = kubectl.get(KIND, name, namespace) or {}
    conditions = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}
    return obj if "Uploaded" in conditions else None


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"]["conditions"]}


def hub_env(kit: HubKit, url: str, share: str) -> dict[str, str]:
    return {
        "OUTPOST_HUB_URL": url, "OUTPOST_HUB_KEYS": public_key_b64(kit.key.public_key()),
        "OUTPOST_HUB_ENROLLMENT_TOKEN": kit.hub.create_token(), "OUTPOST_HUB_SHARE": share,
        "OUTPOST_HUB_INTERVAL_SECONDS": "10",
    }  # fmt: skip


def kept_archive(kubectl: Kubectl, obj: dict[str, Any], namespace: str) -> bytes:
    where = obj["status"]["archive"]
    secret = kubectl.get("secret", where["secretName"], namespace)
    assert secret is not None, "the archive Secret exists"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
    return base64.b64decode(secret["data"][where["key"]])


def install_key(kubectl: Kubectl, namespace: str) -> Ed25519PrivateKey:
    secret = kubectl.get("secret", "outpost-agent-identity", namespace)
    assert secret is not None
    return key_from_pem(base64.b64decode(secret["data"]["key.pem"]), "identity")


def fetched(kubectl: Kubectl, name: str, namespace: str, out: Path) -> bytes:
    """`outpost support-bundle fetch`, as the customer runs it, then `verify` on the file."""
    kubeconfig = str(kubectl.cluster.kubeconfig)
    run = [str(OUTPOST), "support-bundle", "fetch", name, "--out", str(out),
           "--agent-namespace", namespace, "--kubeconfig", kubeconfig]  # fmt: skip
    proc = subprocess.run(run, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_a_request_is_produced_kept_and_uploaded_only_with_consent(
    agents: Agents, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "settings", "namespace": namespace},
                   "data": {"password": PLANTED}})  # fmt: skip
    kit = HubKit(clock=LiveClock())
    with ServedHub(kit.app) as served:
        agent = agents.start(env=hub_env(kit, served.url, "health,support"))
        wait_for(lambda: kit.report_count() > 0, 90, f"a first report\n{agent.tail()}")
        first = unique("sbr")
        kubectl.apply(request(first, namespace))
        obj = wait_for(lambda: finished(kubectl, first, namespace), 120,
                       f"the request to finish\n{agent.tail()}")  # fmt: skip
        assert conditions(obj) == {"Ready": ("True", "Produced"), "Uploaded": ("True", "Uploaded")}
        status = obj["status"]
        data = kept_archive(kubectl, obj, namespace)
        assert hashlib.sha256(data).hexdigest() == status["sha256"]
        assert len(data) == status["size"]
        assert fetched(kubectl, first, namespace, tmp_path / "s.tar.gz") == data
        verified = supportbundle.verify(data, [install_key(kubectl, namespace).public_key()])
        assert len(verified.members) == status["members"]
        assert status["redactions"] >= 1
        assert verified.redactions == status["redactions"]
        assert all(PLANTED.encode() not in body for body in verified.members.values())
        (stored,) = support_store.listed(kit.store, verified.agent_id)
        assert stored.sha256 == status["sha256"]
        assert stored.source == "agent"
        agent.stop()
        withheld = agents.start(env=hub_env(kit, served.url, "health"))
        second = unique("sbr")
        kubectl.apply(request(second, namespace))
        obj = wait_for(lambda: finished(kubectl, second, namespace), 120,
                       f"the second request\n{withheld.tail()}")  # fmt: skip
        assert conditions(obj) == {
            "Ready": ("True", "Produced"), "Uploaded": ("False", "ConsentWithheld"),
        }  # fmt: skip
        kept_archive(kubectl, obj, namespace)
        assert len(support_store.listed(kit.store, verified.agent_id)) == 1, "nothing was sent"
        columns = kubectl.run("get", KIND, second, "-n", namespace).stdout
        assert "ConsentWithheld" in columns.splitlines()[1], columns
    again = kubectl.get(KIND, first, namespace)
    assert again is not None
    assert again["status"]["sha256"] == status["sha256"], "served once"
    assert json.dumps(again["status"]).count("Produced") == 1
