"""The local control plane's pieces that need no cluster: pins, PKI, kubeconfigs, process control.

Covers: version stamping flags, cache keying, certificate subjects and SANs, private key modes,
embedded kubeconfigs, stopping a process by pid, and a missing Go toolchain's clear error.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from cryptography import x509

import k8syaml
from devcluster import build, pki, processes, versions
from devcluster.errors import ComponentError, ToolchainError


def test_kubernetes_binaries_are_version_stamped() -> None:
    kube = next(t for t in versions.TARGETS if t.wrapper == "kube")
    assert f"gitVersion={versions.KUBERNETES}" in kube.ldflags
    assert "k8s.io/client-go/pkg/version.gitVersion" in kube.ldflags


def test_every_wrapper_module_is_committed_with_its_checksums() -> None:
    for target in versions.TARGETS:
        assert (versions.WRAPPERS / target.wrapper / "go.mod").is_file()
        assert (versions.WRAPPERS / target.wrapper / "go.sum").is_file()


def test_cache_is_keyed_by_every_pin_and_outside_the_repo(tmp_path: Path) -> None:
    root = versions.cache_root({"XDG_CACHE_HOME": str(tmp_path)})
    assert root == tmp_path / "outpost"
    key = versions.version_key("go1.26.8")
    for pin in (versions.KUBERNETES, versions.ETCD, versions.KWOK, versions.HELM4, "go1.26.8"):
        assert pin in key


def test_pki_issues_loopback_serving_cert_and_group_client_certs(tmp_path: Path) -> None:
    certs = pki.generate(tmp_path / "pki")
    server = x509.load_pem_x509_certificate(certs.path("apiserver.crt").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    admin = x509.load_pem_x509_certificate(certs.client("admin")[0].read_bytes())
    orgs = admin.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)
    assert [o.value for o in orgs] == ["system:masters"]
    assert (certs.client("admin")[1].stat().st_mode & 0o777) == 0o600
    assert (certs.path("sa.key").stat().st_mode & 0o777) == 0o600


def test_kubeconfig_embeds_credentials(tmp_path: Path) -> None:
    certs = pki.generate(tmp_path / "pki")
    path = pki.kubeconfig(certs, "admin", "https://127.0.0.1:6443", tmp_path / "kubeconfig")
    doc = k8syaml.load(path.read_text())
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == certs.ca_cert.read_bytes()
    assert (path.stat().st_mode & 0o777) == 0o600


def test_stop_terminates_by_pid_and_reports_death_with_log(tmp_path: Path) -> None:
    proc = processes.start(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path
    )
    assert processes.is_ours(proc)
    assert processes.stop([proc], grace=5) == ["sleeper"]
    assert not processes.is_ours(proc)
    with pytest.raises(ComponentError, match="sleeper exited unexpectedly"):
        processes.check_alive(proc)


def test_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError, match="Go toolchain"):
        build.go_version()


def test_test_tools_have_keys_of_their_own() -> None:
    """Adding or bumping oras/crane must never change the control plane's cache key."""
    from devcluster import tools, versions

    key = versions.version_key("go1.26.8")
    assert "oras" not in key
    assert "crane" not in key
    keys = {tools.tool_key(t, "go1.26.8") for t in tools.TOOLS.values()}
    assert keys == {f"oras-{versions.ORAS}-go1.26.8", f"crane-{versions.CRANE}-go1.26.8"}
    for tool in tools.TOOLS.values():
        assert (versions.WRAPPERS / tool.name / "go.mod").is_file()
