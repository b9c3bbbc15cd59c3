"""Small runtime pieces: settings, Helm recovery rules and storage decoding, triggers, metrics,
events, and the resource map."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from pathlib import Path

import pytest

import k8syaml
from agent import api
from agent.errors import ConfigError
from agent.kube.events import transitions
from agent.kube.helm import Revision, parse_manifest, recovery_action
from agent.kube.kubeconfig import from_kubeconfig
from agent.kube.resources import ResourceMap
from agent.reconcilers.release import decode_release, encode_release
from agent.runtime.metrics import Metrics, render
from agent.runtime.triggers import Triggers, owner_key
from agent.settings import from_env


def test_settings_env_then_options_and_defaults() -> None:
    env = {"OUTPOST_RESYNC_SECONDS": "30", "OUTPOST_HELM": "/opt/helm", "POD_NAME": "pod-1"}
    s = from_env(env, {"resync_seconds": 5.0, "concurrency": None}, "host-7")
    assert (s.resync_seconds, s.helm_path, s.identity, s.metrics_host) == (
        5.0,
        "/opt/helm",
        "pod-1",
        "127.0.0.1",
    )
    assert from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}).metrics_host == "0.0.0.0"
    assert dict(s.helm_env)["HELM_CACHE_HOME"].endswith("/cache")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"OUTPOST_CONCURRENCY": "many"}, "not a valid int"),
        ({"OUTPOST_WRITE_QPS": "0"}, "rate limit"),
        ({"OUTPOST_RENEW_SECONDS": "20"}, "renew"),
    ],
)
def test_settings_reject_bad_values(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_env(env)


def _rev(n: int, status: str) -> Revision:
    return Revision(n, status, "tiny-0.1.0", "")


@pytest.mark.parametrize(
    ("history", "action"),
    [
        ([], ("none", 0)),
        ([_rev(1, "deployed")], ("none", 0)),
        ([_rev(1, "superseded"), _rev(2, "deployed"), _rev(3, "pending-upgrade")], ("rollback", 2)),
        ([_rev(1, "deployed"), _rev(2, "failed"), _rev(3, "pending-rollback")], ("rollback", 1)),
        ([_rev(1, "pending-install")], ("uninstall", 0)),
        ([_rev(1, "failed"), _rev(2, "pending-upgrade")], ("uninstall", 0)),
    ],
)
def test_stuck_release_recovery_rules(history: list[Revision], action: tuple[str, int]) -> None:
    assert recovery_action(history) == action


def test_release_storage_decodes_and_manifest_parses() -> None:
    record = {
        "version": 2,
        "info": {"status": "deployed"},
        "manifest": "---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n---\n",
    }
    inner = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    assert decode_release(base64.b64encode(inner).decode())["version"] == 2
    assert decode_release(encode_release(record)) == record
    assert [o["kind"] for o in parse_manifest(record["manifest"])] == ["ConfigMap"]


def test_child_events_map_to_owners_and_our_own_writes_are_ignored() -> None:
    queued: list[tuple[str, float]] = []
    triggers = Triggers(lambda k, d: queued.append((k, d)), lambda: None)
    child = {
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "p",
            "namespace": "a1",
            "resourceVersion": "5",
            "labels": {api.LABEL_TENANT: "acme", api.LABEL_MANAGED_BY: api.MANAGED_BY},
        },
    }
    triggers.wrote(child)
    triggers.child("MODIFIED", child)
    assert queued == []
    child["metadata"]["resourceVersion"] = "6"
    triggers.child("MODIFIED", child)
    assert queued[-1][0] == "Tenant/acme"
    helm_made = {
        "metadata": {
            "annotations": {
                "meta.helm.sh/release-name": "web",
                "meta.helm.sh/release-namespace": "a1",
            }
        }
    }
    assert owner_key(helm_made, {("a1", "web"): "web-app"}) == "Application/web-app"


def test_deleting_application_wakes_its_tenant_and_resync_enqueues_everything() -> None:
    queued: list[str] = []
    triggers = Triggers(lambda k, d: queued.append(k), lambda: None)
    app = {"metadata": {"name": "web"}, "spec": {"tenantRef": {"name": "acme"}}}
    triggers.owned("Application", None, app)
    triggers.owned("Tenant", None, {"metadata": {"name": "acme"}})
    assert "Application/web" in queued[queued.index("Tenant/acme") :]
    triggers.owned("Application", "DELETED", app)
    assert queued[-1] == "Tenant/acme"
    queued.clear()
    triggers.enqueue_all()
    assert queued == ["Tenant/acme"]


def test_metrics_text_has_counts_histogram_and_readiness() -> None:
    metrics = Metrics()
    metrics.record("Tenant", "success", 0.02)
    metrics.record("Tenant", "error", 3.0)
    metrics.set_ready("Tenant", "acme", "True")
    text = render(metrics, {"outpost_leader": 1.0})
    assert 'outpost_reconcile_total{kind="Tenant",result="success"} 1' in text
    assert 'outpost_reconcile_errors_total{kind="Tenant"} 1' in text
    assert 'outpost_reconcile_duration_seconds_bucket{kind="Tenant",le="+Inf"} 2' in text
    assert 'outpost_objects{kind="Tenant",ready="True"} 1' in text


def test_events_only_on_ready_flips_and_new_stalls() -> None:
    ready = {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ok"}
    stalled = {"type": "Stalled", "status": "True", "reason": "NamespaceConflict", "message": "x"}
    assert transitions([ready], [ready]) == []
    flipped = transitions(
        [ready], [{**ready, "status": "False", "reason": "NamespaceConflict"}, stalled]
    )
    assert [n.type for n in flipped] == ["Warning", "Warning"]


def test_resource_map_discovers_unknown_kinds_once() -> None:
    calls: list[str] = []

    async def fetch(path: str) -> dict[str, object]:
        calls.append(path)
        return {
            "resources": [
                {"name": "widgets", "kind": "Widget", "namespaced": True},
                {"name": "widgets/status", "kind": "Widget", "namespaced": True},
            ]
        }

    async def main() -> None:
        resources = ResourceMap(fetch)
        res = await resources.resolve("example.com/v1", "Widget")
        await resources.resolve("example.com/v1", "Widget")
        assert (
            res.path("w", "ns", "status") == "/apis/example.com/v1/namespaces/ns/widgets/w/status"
        )
        assert (await resources.resolve("v1", "Namespace")).path("a") == "/api/v1/namespaces/a"

    asyncio.run(main())
    assert calls == ["/apis/example.com/v1"]


def test_kubeconfig_current_context_with_embedded_certs_and_token(tmp_path: Path) -> None:
    config = {
        "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:6443/",
                    "certificate-authority-data": base64.b64encode(b"CA").decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": "t0k", "client-key": "key.pem"}}],
    }
    path = tmp_path / "config"
    path.write_text(k8syaml.dump(config))
    creds = from_kubeconfig(str(path))
    assert creds is not None
    assert creds.host == "https://127.0.0.1:6443"
    assert Path(creds.ssl_ca_cert or "").read_bytes() == b"CA"
    assert creds.key_file == str(tmp_path / "key.pem")
    assert asyncio.run(creds.get_api_key_with_prefix()) == "Bearer t0k"
    config["users"][0]["user"] = {"exec": {"command": "aws"}}
    path.write_text(k8syaml.dump(config))
    assert from_kubeconfig(str(path)) is None
    config["current-context"] = "nope"
    path.write_text(k8syaml.dump(config))
    with pytest.raises(ConfigError, match="no context named 'nope'"):
        from_kubeconfig(str(path))
