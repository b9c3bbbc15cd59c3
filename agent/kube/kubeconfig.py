"""Credentials for the API server: a kubeconfig file or the in-cluster service account.

I/O: reads the kubeconfig (or the service-account files) and writes embedded certificates to a
private temporary directory (Python's ssl needs client certificates as files). Tokens, client
certificates and CA data are handled here without the `kubernetes` package, which costs ~20 MiB
of memory to import; only kubeconfigs using exec or auth-provider plugins (cloud logins) fall
back to `kubernetes.aio.config`.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import k8syaml
from agent.errors import ConfigError

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass
class Credentials:
    """Where the API server is and how to prove who we are."""

    host: str
    ssl_ca_cert: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    token: str = ""
    token_file: str = ""
    verify_ssl: bool = True

    def bearer(self) -> str:
        """The current token ("" for none); a token file is re-read: it rotates in-cluster."""
        return Path(self.token_file).read_text().strip() if self.token_file else self.token

    async def get_api_key_with_prefix(self, identifier: str = "BearerToken") -> str | None:
        """The Authorization header value."""
        token = self.bearer()
        return f"Bearer {token}" if token else None


def service_account(server: str) -> Credentials:
    """The pod's service account (its token file is re-read on every request)."""
    if not server or not (SA_DIR / "token").exists():
        raise ConfigError("not running in a cluster (no service account token); set --kubeconfig")
    return Credentials(server, str(SA_DIR / "ca.crt"), token_file=str(SA_DIR / "token"))


def from_kubeconfig(path: str) -> Credentials | None:
    """Credentials of the current context; None when it needs an exec/auth-provider plugin."""
    file = Path(os.path.expanduser(path or "~/.kube/config"))
    try:
        config = k8syaml.load(file.read_bytes()) or {}
    except (OSError, k8syaml.YamlError) as exc:
        raise ConfigError(
            f"cannot read kubeconfig {file}: {exc}; set KUBECONFIG or --kubeconfig"
        ) from exc
    context = _named(config, "contexts", config.get("current-context", ""), file)
    cluster = _named(config, "clusters", context.get("cluster", ""), file)
    user = _named(config, "users", context.get("user", ""), file) if context.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        return None
    base = file.parent
    return Credentials(
        host=str(cluster["server"]).rstrip("/"),
        ssl_ca_cert=_material(cluster, "certificate-authority", base),
        cert_file=_material(user, "client-certificate", base),
        key_file=_material(user, "client-key", base),
        token=str(user.get("token") or ""),
        token_file=str(base / user["tokenFile"]) if user.get("tokenFile") else "",
        verify_ssl=not cluster.get("insecure-skip-tls-verify", False),
    )


def _named(config: dict[str, Any], section: str, name: str, file: Path) -> dict[str, Any]:
    for entry in config.get(section) or ():
        if entry.get("name") == name:
            return dict(entry.get(section[:-1]) or {})
    raise ConfigError(
        f"kubeconfig {file} has no {section[:-1]} named {name!r}; check current-context"
    )


def _material(section: dict[str, Any], key: str, base: Path) -> str | None:
    """A file path for `key`, writing `key-data` to a private temporary file when embedded."""
    if section.get(f"{key}-data"):
        fd, path = tempfile.mkstemp(prefix="outpost-", suffix=".pem")
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64decode(section[f"{key}-data"]))
        return path
    return str(base / section[key]) if section.get(key) else None


async def load_credentials(kubeconfig: str, in_cluster: bool, server: str = "") -> Credentials:
    """The kubeconfig's current context, or the in-cluster service account at `server`.

    Kubeconfigs with exec or auth-provider plugins are handed to `kubernetes.aio.config`
    (imported only then: it is heavy).
    """
    if in_cluster:
        return service_account(server)
    found = from_kubeconfig(kubeconfig)
    if found is not None:
        return found
    return await _plugin_credentials(kubeconfig)


async def _plugin_credentials(kubeconfig: str) -> Credentials:
    from kubernetes.aio import config as kconfig
    from kubernetes.aio.client import Configuration

    cfg = Configuration()
    try:
        await kconfig.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig or None, client_configuration=cfg
        )
    except (kconfig.ConfigException, OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load Kubernetes credentials from {kubeconfig or '~/.kube/config'}: {exc}; "
            "set KUBECONFIG or --kubeconfig"
        ) from exc
    token = str(await cfg.get_api_key_with_prefix("BearerToken") or "").removeprefix("Bearer ")
    return Credentials(
        cfg.host,
        cfg.ssl_ca_cert,
        cfg.cert_file,
        cfg.key_file,
        token,
        verify_ssl=bool(cfg.verify_ssl),
    )
