"""What leaves the cluster when nothing may: an offline agent opens no connection to its hub.

A plain TCP listener on loopback stands in for the hub and counts every connection. The agent
runs with that listener as its hub URL; offline (`OUTPOST_HUB_OFFLINE`, chart value
`hub.offline`) it reconciles as usual and connects zero times. The same agent online connects,
which shows the counter would see it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.cluster.agent.agentkit import Agents, Kubectl, tenant, unique, wait_for

HUB_KEY = "9anZVEtAfFnQ8nPv9O5eT04WaqDv72s8XXXSRDj/vD8="  # any valid key: nothing is verified


@contextmanager
def counting_listener() -> Iterator[tuple[str, list[int]]]:
    """A loopback listener that accepts, counts and closes every connection."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    count, stop = [0], threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            count[0] += 1
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", count
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def test_offline_agent_connects_to_the_hub_zero_times(
    agents: Agents, kubectl: Kubectl, made: list[tuple[str, str]]
) -> None:
    with counting_listener() as (url, count):
        env = {
            "OUTPOST_HUB_URL": url, "OUTPOST_HUB_KEYS": HUB_KEY,
            "OUTPOST_HUB_INTERVAL_SECONDS": "10", "OUTPOST_HUB_ENROLLMENT_TOKEN": "t",
        }  # fmt: skip
        offline = agents.start(env={**env, "OUTPOST_HUB_OFFLINE": "true"})
        name = unique("offline")
        kubectl.apply(tenant(name, [name]))
        made.append(("tenant", name))
        wait_for(lambda: kubectl.condition("tenant", name).get("status") == "True", 90,
                 "the offline agent to reconcile its tenant")  # fmt: skip
        time.sleep(12)  # more than one report interval
        assert count[0] == 0, offline.tail()
        offline.stop()
        online = agents.start(env=env)
        wait_for(lambda: count[0] > 0, 60, f"the online agent to try its hub\n{online.tail()}")
