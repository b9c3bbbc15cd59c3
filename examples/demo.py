"""`make demo`: the whole story on one machine, with a real control plane on loopback.

1. a real control plane (etcd, apiserver, controller manager, scheduler, kwok nodes);
2. the vendor signs a sample bundle (throwaway keys) with a multi-arch image;
3. the vendor's reference hub starts and issues a one-time enrollment token;
4. the customer installs the agent chart with `helm install` (trust root and hub as values); kwok
   pods run no containers, so the agent process runs beside the cluster under a token minted
   for the chart's ServiceAccount (its RBAC is what the agent gets);
5. the air-gapped import pushes images and charts into a private registry, digest for digest,
   and hands the Bundle to the cluster; the agent re-verifies it and applies it;
6. tenants, applications, the bundle and the DataPlane become Ready; the pods pull from the
   private registry;
7. the agent enrolls with the hub and the first signed report arrives;
8. an Application whose custom resource publishes no status shows Ready=Unknown (never a false
   True), and is removed again, so the demo ends with every object Ready.

Everything stays up afterwards so you can look around; `make demo-down` stops it all.
`python -m examples.demo down` is the same as `make demo-down`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from devcluster import cluster, processes
from examples import demo_airgap

ROOT = Path(__file__).resolve().parents[1]
OUTPOST = str(Path(sys.executable).parent / "outpost")
NAMESPACE = "outpost-system"
RELEASE = "outpost-agent"
console = Console(soft_wrap=True)


def step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def run(*argv: str, env: dict[str, str] | None = None, show: bool = True) -> str:
    shown = " ".join(Path(a).name if a in (OUTPOST, sys.executable) else a for a in argv)
    console.print(f"[dim]$ {shown}[/]")
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        console.print(proc.stdout + proc.stderr)
        raise SystemExit(f"demo step failed: {shown}")
    if show and proc.stdout.strip():
        console.print(proc.stdout.rstrip(), markup=False, highlight=False)
    return proc.stdout


def background(name: str, argv: list[str], work: Path, env: dict[str, str]) -> processes.Proc:
    """Start a long-running helper process and record it for `demo down`.

    Python commands run as `python <script>`: `down` recognises a process by its argv[0].
    """
    proc = processes.start(name, argv, work, env=env)
    demo_airgap.remember(work, proc)
    console.print(f"[dim]{name} running (pid {proc.pid}, log {proc.log})[/]")
    return proc


# The demo's own reader of the hub (a viewer access token), set by `start_hub`.
READER: dict[str, str] = {}


def start_hub(work: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """The reference hub on loopback; returns its URL, public key and an enrollment token."""
    key = work / "hub.key"
    public = run(OUTPOST, "hub", "key", "create", "--out", str(key), env=env)
    public_b64 = public.split("public key:")[1].split()[0]
    db = f"sqlite:///{work / 'hub.db'}"
    port = processes.free_port()
    argv = [sys.executable, OUTPOST, "hub", "serve", "--db", db, "--listen",
            f"127.0.0.1:{port}", "--hub-key", str(key)]  # fmt: skip
    background("hub", argv, work, env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz")
    token = json.loads(run(OUTPOST, "hub", "token", "create", "--db", db, "--output", "json",
                           env=env, show=False))["token"]  # fmt: skip
    console.print("one-time enrollment token issued (the hub keeps only its sha256)")
    reader = json.loads(run(OUTPOST, "hub", "access-token", "create", "--db", db, "--name",
                            "demo", "--output", "json", env=env, show=False))["token"]  # fmt: skip
    (work / "hub-reader.token").write_text(reader + "\n")
    console.print(f"access token for the read API and fleet page in {work / 'hub-reader.token'}")
    READER["Authorization"] = f"Bearer {reader}"
    return url, public_b64, token


def install_chart(env: dict[str, str], trust: Path, hub_url: str, hub_key: str) -> None:
    run("helm", "install", RELEASE, str(ROOT / "charts" / "outpost-agent"), "-n", NAMESPACE,
        "--create-namespace", "--wait", "--timeout", "180s",
        "-f", str(ROOT / "examples" / "demo-values.yaml"),
        "--set-file", f"trust.rootKeyring={trust}",
        "--set", "hub.enabled=true", "--set", f"hub.url={hub_url}",
        "--set-json", f'hub.keys=["{hub_key}"]', env=env)  # fmt: skip
    run("kubectl", "-n", NAMESPACE, "get", "deployment,serviceaccount", env=env)


def service_account_kubeconfig(env: dict[str, str], work: Path) -> tuple[Path, str]:
    """A kubeconfig holding a TokenRequest token of the chart's ServiceAccount."""
    sa = RELEASE  # the chart names its ServiceAccount after the release
    token = run("kubectl", "-n", NAMESPACE, "create", "token", sa, "--duration", "24h",
                env=env, show=False).strip()  # fmt: skip
    admin = json.loads(run("kubectl", "config", "view", "--raw", "-o", "json", env=env,
                           show=False))  # fmt: skip
    admin["users"] = [{"name": sa, "user": {"token": token}}]
    admin["contexts"][0]["context"]["user"] = sa
    path = work / "agent.kubeconfig"
    path.write_text(json.dumps(admin))
    path.chmod(0o600)
    console.print(f"minted a token for ServiceAccount {NAMESPACE}/{sa} (TokenRequest)")
    return path, sa


def start_agent(env: dict[str, str], work: Path, trust: Path, hub: tuple[str, str, str]) -> None:
    kubeconfig, sa = service_account_kubeconfig(env, work)
    agent_env = {
        **env,
        "OUTPOST_TRUST_ROOT": str(trust),
        "OUTPOST_TENANT_CLUSTERROLE": f"{RELEASE}-tenant",
        "OUTPOST_SERVICE_ACCOUNT": f"{NAMESPACE}/{sa}",
        "OUTPOST_HELM": str(Path(env["PATH"].split(os.pathsep)[0]) / "helm"),
        "OUTPOST_HUB_URL": hub[0],
        "OUTPOST_HUB_KEYS": hub[1],
        "OUTPOST_HUB_ENROLLMENT_TOKEN": hub[2],
        "OUTPOST_HUB_INTERVAL_SECONDS": "15",  # the chart default is 300 s; the demo is short
    }
    argv = [sys.executable, OUTPOST, "agent", "run", "--kubeconfig", str(kubeconfig),
            "--namespace", NAMESPACE, "--metrics-port", "0"]  # fmt: skip
    background("agent", argv, work, agent_env)


def wait_ready(env: dict[str, str]) -> None:
    """Every Outpost object of the sample is Ready (kubectl's own wait is the judge)."""
    wait = ("kubectl", "wait", "--timeout=300s", "--for=condition=Ready")
    for kind in ("tenants", "applications", "bundles", "dataplanes"):
        run(*wait, kind, "--all", env=env)
    run("kubectl", "get", "dataplanes,tenants,applications,bundles", env=env)


def show_unknown_health(env: dict[str, str]) -> None:
    """An Application whose custom resource publishes no status: Unknown, never a false True.

    Applied by hand after the green state, shown, and deleted again, so the demo ends green.
    """
    app = ROOT / "examples" / "unknown-health" / "app-widget-sample.yaml"
    run("kubectl", "apply", "-f", str(app), env=env)
    run(
        "kubectl",
        "wait",
        "--timeout=120s",
        "--for=jsonpath={.status.conditions[?(@.type=="
        '"Ready")].reason}=CustomResourceHealthUnknown',
        "application/widget-sample",
        env=env,
    )
    run("kubectl", "get", "application/widget-sample", env=env)
    console.print("The Widget publishes no status, so Outpost says Unknown instead of guessing.")
    run("kubectl", "delete", "-f", str(app), "--wait=true", "--timeout=120s", env=env)
    run(*("kubectl", "wait", "--timeout=120s", "--for=condition=Ready", "dataplanes", "--all"),
        env=env)  # fmt: skip


def show_report(hub_url: str) -> None:
    """Wait for a report sent after everything was Ready (the first one went out at start)."""
    seen = _last_seqs(hub_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = _last_seqs(hub_url)
        if now and all(seq > seen.get(agent, 0) for agent, seq in now.items()):
            console.print_json(
                data=httpx.get(f"{hub_url}/v1/agents", headers=READER, timeout=5).json()
            )
            return
        time.sleep(2)
    raise SystemExit("no new signed report reached the hub within 120 s; see the agent's log")


def _last_seqs(hub_url: str) -> dict[str, int]:
    agents = httpx.get(f"{hub_url}/v1/agents", headers=READER, timeout=5).json().get("agents", [])
    return {str(a["agent_id"]): int(a.get("last_seq") or 0) for a in agents}


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within 30 s")


def main() -> None:
    state_dir = cluster.default_state_dir()
    step("1. A real control plane on loopback (etcd, apiserver, kcm, scheduler, kwok)")
    state = cluster.up(state_dir, Console(stderr=True))
    env = {**os.environ, **state.env()}
    work = Path(state.state_dir) / "demo"
    if (work / "demo-procs.json").exists():
        console.print("the demo already ran on this cluster: run 'make demo-down' first")
        return
    work.mkdir(exist_ok=True)
    run("kubectl", "get", "nodes", env=env)
    step("2. Vendor: a signed sample bundle with a multi-arch image (throwaway keys)")
    sample = demo_airgap.prepare(console, env, work)
    run(OUTPOST, "bundle", "verify", str(sample.bundle), "--trust", str(sample.trust), env=env)
    step("3. Vendor: the reference hub, and a one-time enrollment token")
    hub = start_hub(work, env)
    step("4. Customer: helm install the agent chart; run the agent under its ServiceAccount")
    install_chart(env, sample.trust, hub[0], hub[1])
    start_agent(env, work, sample.trust, hub)
    step("5. Air-gapped import: private registry, digest for digest, then the Bundle")
    demo_airgap.import_and_show(console, env, work, sample, namespace=NAMESPACE)
    step("6. Everything Ready (the agent re-verified the bundle before applying it)")
    wait_ready(env)
    step("7. Signed status, outbound only: reports at the hub")
    show_report(hub[0])
    step("8. Health that cannot be told: a custom resource without status is Unknown")
    show_unknown_health(env)
    step("Done")
    console.print(f"Fleet page:  {hub[0]}/  (sign in with the token in {work}/hub-reader.token)")
    console.print('Explore:     eval "$(.venv/bin/outpost dev env)"')
    console.print("             kubectl get dataplanes,tenants,applications,bundles")
    console.print("Stop it all: make demo-down")


def down() -> None:
    state_dir = cluster.default_state_dir()
    record = state_dir / "demo" / "demo-procs.json"
    if record.exists():
        procs = [processes.Proc(**p) for p in json.loads(record.read_text())]
        stopped = processes.stop(procs, grace=10)
        console.print(f"stopped {', '.join(stopped) or 'nothing'}")
    cluster.down(state_dir, Console(stderr=True))


if __name__ == "__main__":
    down() if sys.argv[1:] == ["down"] else main()
