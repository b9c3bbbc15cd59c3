"""Real readiness checks: health endpoints with the admin certificate, then functional probes.

A component is ready when it does its job, not when its port opens: the apiserver serves
`/readyz` and the `default` namespace exists; the controller manager has created the `default`
ServiceAccount; the scheduler binds a probe Pod; kwok's Nodes report Ready.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

import httpx

from devcluster.errors import ComponentError
from devcluster.processes import Proc, check_alive

POLL_SECONDS = 0.2


def api_client(server: str, ca: str, cert: tuple[str, str]) -> httpx.Client:
    """An API client authenticated by the admin client certificate (anonymous gets 403s)."""
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(*cert)
    return httpx.Client(base_url=server, verify=context, timeout=httpx.Timeout(5.0))


def wait_for(what: str, check: Callable[[], bool], proc: Proc | None, timeout: float) -> None:
    """Poll `check` until true; fail early if `proc` dies, with the tail of its log."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if proc is not None:
            check_alive(proc)
        try:
            if check():
                return
        except httpx.HTTPError as exc:
            last_error = f" (last error: {exc})"
        time.sleep(POLL_SECONDS)
    hint = f"; see {proc.log}" if proc else ""
    raise ComponentError(f"timed out after {timeout:.0f} s waiting for {what}{last_error}{hint}")


def ok(client: httpx.Client, path: str) -> bool:
    """Whether `path` answers 200."""
    return client.get(path).status_code == 200


def etcd_healthy(port: int) -> bool:
    """Whether etcd's /health says healthy."""
    resp = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0)
    return resp.status_code == 200 and resp.json().get("health") == "true"


def component_healthy(port: int) -> bool:
    """Whether a component's /healthz answers 200."""
    # kcm and the scheduler serve /healthz on a self-signed loopback cert; the path is public.
    resp = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2.0)
    return resp.status_code == 200


def nodes_ready(client: httpx.Client, names: list[str]) -> bool:
    """Whether every named Node reports Ready=True."""
    for name in names:
        resp = client.get(f"/api/v1/nodes/{name}")
        if resp.status_code != 200:
            return False
        conditions = resp.json().get("status", {}).get("conditions", [])
        if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return False
    return True


def probe_scheduling(client: httpx.Client, timeout: float, scheduler: Proc) -> None:
    """Create a tiny Pod, wait until the scheduler binds it, delete it."""
    name = "outpost-dev-scheduling-probe"
    pod: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "probe", "image": "probe.invalid/none:0"}]},
    }
    path = "/api/v1/namespaces/default/pods"
    client.delete(f"{path}/{name}", params={"gracePeriodSeconds": 0})
    wait_for(
        "the probe pod to be creatable",
        lambda: client.post(path, json=pod).status_code in (201, 409),
        scheduler,
        timeout,
    )
    wait_for(
        "kube-scheduler to bind a probe pod",
        lambda: bool(client.get(f"{path}/{name}").json().get("spec", {}).get("nodeName")),
        scheduler,
        timeout,
    )
    client.delete(f"{path}/{name}", params={"gracePeriodSeconds": 0})
