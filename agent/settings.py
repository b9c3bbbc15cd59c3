"""AgentSettings: every knob of `outpost agent run`, built once from the environment and options.

Pure: `from_env(env, overrides)` reads a mapping handed in (the CLI passes `os.environ` and the
command-line options); nothing here touches the process environment, files or the network.
Every interval, limit and port is a named default below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from agent.errors import ConfigError

DEFAULT_NAMESPACE = "outpost-system"
DEFAULT_RESYNC_SECONDS = 60.0
DEFAULT_METRICS_PORT = 8080
DEFAULT_CONCURRENCY = 8
DEFAULT_WRITE_QPS = 100.0
DEFAULT_WRITE_BURST = 200
"""The write limit: about the 100 writes/s a tight server-side-apply client sustained on a busy
2-core local control plane (bench/agent_scale.py, bound at N = 1,000; an idle one took ~900/s),
so a small API server keeps room for its other clients. API Priority and Fairness 429s are
retried after Retry-After. The old 20/s made 1,000 tenants wait 400 s on throttling alone."""
DEFAULT_HELM_CONCURRENCY = 2
DEFAULT_LEASE_NAME = "outpost-agent"
DEFAULT_LEASE_SECONDS = 15.0
DEFAULT_RENEW_SECONDS = 5.0
DEFAULT_STALL_SECONDS = 180.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_USAGE_WINDOW_SECONDS = 3600
MIN_USAGE_WINDOW_SECONDS = 10
HELM_HOME_ROOT = "/tmp/outpost-helm"

# Environment variable → field name; command-line options override these.
ENV_NAMES = {
    "KUBECONFIG": "kubeconfig",
    "OUTPOST_NAMESPACE": "namespace",
    "OUTPOST_RESYNC_SECONDS": "resync_seconds",
    "OUTPOST_METRICS_HOST": "metrics_host",
    "OUTPOST_METRICS_PORT": "metrics_port",
    "OUTPOST_CONCURRENCY": "concurrency",
    "OUTPOST_WRITE_QPS": "write_qps",
    "OUTPOST_WRITE_BURST": "write_burst",
    "OUTPOST_HELM": "helm_path",
    "OUTPOST_HELM_CONCURRENCY": "helm_concurrency",
    "OUTPOST_CHART_ROOT": "chart_root",
    "OUTPOST_LEASE_NAME": "lease_name",
    "OUTPOST_LEASE_SECONDS": "lease_seconds",
    "OUTPOST_RENEW_SECONDS": "renew_seconds",
    "OUTPOST_IDENTITY": "identity",
    "OUTPOST_TRUST_ROOT": "trust_root",
    "OUTPOST_TENANT_CLUSTERROLE": "tenant_cluster_role",
    "OUTPOST_SERVICE_ACCOUNT": "service_account",
    "OUTPOST_USAGE_WINDOW_SECONDS": "usage_window_seconds",
    "OUTPOST_RESERVED_NAMESPACES": "reserved_namespaces",
    "OUTPOST_CLUSTER_SCOPED": "cluster_scoped",
    "OUTPOST_BUNDLE_CRDS": "bundle_crds",
    "OUTPOST_LICENSE_REQUIRED": "license_required",
}


@dataclass(frozen=True)
class AgentSettings:
    """Everything the running agent needs to know about its surroundings and limits."""

    kubeconfig: str = ""
    in_cluster: bool = False
    namespace: str = DEFAULT_NAMESPACE
    create_namespace: bool = False
    """Create `namespace` at start-up when it does not exist (else the agent exits 2)."""
    resync_seconds: float = DEFAULT_RESYNC_SECONDS
    metrics_host: str = ""
    metrics_port: int = DEFAULT_METRICS_PORT
    concurrency: int = DEFAULT_CONCURRENCY
    write_qps: float = DEFAULT_WRITE_QPS
    write_burst: int = DEFAULT_WRITE_BURST
    helm_path: str = "helm"
    helm_concurrency: int = DEFAULT_HELM_CONCURRENCY
    chart_root: str = "."
    lease_name: str = DEFAULT_LEASE_NAME
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    renew_seconds: float = DEFAULT_RENEW_SECONDS
    stall_seconds: float = DEFAULT_STALL_SECONDS
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    identity: str = ""
    trust_root: str = ""
    """Trust-root keyring file that Bundles are verified against (chart value `trustRoot`)."""
    helm_env: tuple[tuple[str, str], ...] = ()
    api_server: str = ""
    hub_env: tuple[tuple[str, str], ...] = ()
    """The OUTPOST_HUB_* variables, for `agent.sync.config.from_env` (sync is off without them)."""
    tenant_cluster_role: str = ""
    """ClusterRole the agent binds itself to inside each namespace it manages (chart-provided)."""
    service_account: str = ""
    """`namespace/name` of the agent's ServiceAccount; with the role above, enables bootstrap."""
    usage_window_seconds: int = DEFAULT_USAGE_WINDOW_SECONDS
    """Length of a usage accounting window (chart value `usage.windowSeconds`)."""
    reserved_namespaces: str = ""
    """Comma-separated names (or `prefix*`) no Tenant or Application may use, beyond the
    DataPlane's `spec.reservedNamespaces` (chart value rbac.admissionPolicy.reservedNamespaces)."""

    cluster_scoped: str = ""
    """Comma-separated `Kind/name` of cluster-scoped objects charts may create (chart value
    `rbac.clusterScoped`); anything else cluster-scoped is refused (ClusterScopeNotApproved)."""
    bundle_crds: str = ""
    """Comma-separated CRD names bundles and charts may install (chart value rbac.bundleCRDs)."""
    license_required: str = ""
    """"true": nothing is applied without a valid licence (chart value license.required)."""

    @property
    def requires_license(self) -> bool:
        """Whether the agent applies nothing without a valid licence (`license.required`)."""
        return self.license_required.strip().lower() in ("true", "1", "yes")

    def reserved(self) -> tuple[str, ...]:
        """The names reserved by the settings: the list above and the agent's own namespace."""
        names = [n.strip() for n in self.reserved_namespaces.split(",") if n.strip()]
        return (self.namespace, *names)


def from_env(
    env: Mapping[str, str], overrides: Mapping[str, Any] | None = None, fallback_identity: str = ""
) -> AgentSettings:
    """Build settings from `env`, then `overrides` (options given on the command line win).

    `fallback_identity` names this replica in the Lease when neither OUTPOST_IDENTITY nor
    POD_NAME is set (the caller passes e.g. host name and process id: unique per replica).

    Raises:
        ConfigError: a value has the wrong type or is out of range.
    """
    values: dict[str, Any] = {}
    for env_name, field in ENV_NAMES.items():
        if env.get(env_name):
            values[field] = env[env_name]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None and v != ""})
    settings = replace(AgentSettings(), **_coerce(values))
    return _complete(settings, env, fallback_identity)


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    types: dict[str, Callable[[Any], Any]] = {
        f.name: {"int": int, "float": float, "bool": bool}.get(str(f.type), str)
        for f in fields(AgentSettings)
    }
    out: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            out[name] = types[name](raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"setting {name}={raw!r} is not a valid {types[name].__name__}"
            ) from exc
    return out


def _complete(settings: AgentSettings, env: Mapping[str, str], fallback: str) -> AgentSettings:
    in_cluster = not settings.kubeconfig and bool(env.get("KUBERNETES_SERVICE_HOST"))
    host = settings.metrics_host or ("0.0.0.0" if in_cluster else "127.0.0.1")
    identity = settings.identity or env.get("POD_NAME") or fallback or "outpost-agent"
    helm_env = tuple(sorted(helm_environment(env, settings.kubeconfig).items()))
    hub_env = tuple(
        sorted((k, v) for k, v in env.items() if k.startswith(("OUTPOST_HUB_", "OUTPOST_REPORT_")))
    )
    settings = replace(
        settings,
        in_cluster=in_cluster,
        metrics_host=host,
        identity=identity,
        helm_env=helm_env,
        hub_env=hub_env,
        api_server=service_url(env) if in_cluster else "",
    )
    _validate(settings)
    return settings


def service_url(env: Mapping[str, str]) -> str:
    """The in-cluster API server URL from the service environment Kubernetes injects."""
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def helm_environment(env: Mapping[str, str], kubeconfig: str) -> dict[str, str]:
    """What helm child processes see: PATH, proxies, in-cluster and HELM_* variables, and
    writable helm homes (the agent's root filesystem may be read-only)."""
    keep = (
        "PATH",
        "HOME",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
        "https_proxy",
        "http_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
    )
    out = {k: v for k, v in env.items() if k in keep or k.startswith("HELM_")}
    for name in ("CACHE", "CONFIG", "DATA"):
        out.setdefault(f"HELM_{name}_HOME", f"{HELM_HOME_ROOT}/{name.lower()}")
    if kubeconfig:
        out["KUBECONFIG"] = kubeconfig
    return out


def _validate(s: AgentSettings) -> None:
    checks = [
        (s.resync_seconds > 0, "resync period must be > 0 seconds"),
        (0 <= s.metrics_port < 65536, "metrics port must be 0..65535"),
        (s.concurrency >= 1, "concurrency must be >= 1"),
        (s.write_qps > 0 and s.write_burst >= 1, "write rate limit needs qps > 0 and burst >= 1"),
        (1 <= s.helm_concurrency <= 16, "helm concurrency must be 1..16"),
        (s.renew_seconds < s.lease_seconds, "lease renew period must be shorter than the lease"),
        (
            s.usage_window_seconds >= MIN_USAGE_WINDOW_SECONDS,
            f"usage window must be at least {MIN_USAGE_WINDOW_SECONDS} seconds",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"invalid agent settings: {message}")
