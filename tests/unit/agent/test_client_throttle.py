"""The client under API Priority and Fairness: a 429 is retried after its Retry-After, and a
refusal that does not clear is reported as the API server's answer."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from agent.errors import KubeError
from agent.kube import client
from agent.kube.client import Kube
from agent.kube.kubeconfig import Credentials


async def serve(refusals: int) -> tuple[web.AppRunner, str, list[float]]:
    seen: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(asyncio.get_running_loop().time())
        if len(seen) <= refusals:
            return web.Response(status=429, text='{"message":"too many requests"}',
                                headers={"Retry-After": "1"})  # fmt: skip
        return web.json_response({"kind": "Namespace", "metadata": {"name": "x"}})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/x", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", seen


def test_a_429_is_retried_after_retry_after() -> None:
    async def go() -> None:
        runner, host, seen = await serve(refusals=2)
        kube = Kube(Credentials(host), qps=100, burst=10, timeout=10)
        try:
            found = await kube.get("v1", "Namespace", "x")
        finally:
            await kube.close()
            await runner.cleanup()
        assert found is not None
        assert len(seen) == 3
        assert kube.throttled == 2
        assert seen[1] - seen[0] >= 0.9  # waited as told

    asyncio.run(go())


def test_a_refusal_that_persists_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "THROTTLE_RETRIES", 1)

    async def go() -> None:
        runner, host, seen = await serve(refusals=100)
        kube = Kube(Credentials(host), qps=100, burst=10, timeout=10)
        try:
            with pytest.raises(KubeError) as info:
                await kube.get("v1", "Namespace", "x")
        finally:
            await kube.close()
            await runner.cleanup()
        assert info.value.status == 429
        assert len(seen) == 2

    asyncio.run(go())
