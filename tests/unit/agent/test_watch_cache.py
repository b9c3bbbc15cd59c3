"""The watch cache: trimmed copies, label selectors matched locally, read-your-writes, and a
relist after an expired watch that reports only what changed (no reconcile burst)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agent.errors import GoneError
from agent.kube.cache import Store, matches, newer
from agent.kube.cached import CachedKube
from agent.kube.watch import Informer, Watched


def obj(name: str, rv: int, namespace: str = "", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": str(rv), "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    meta["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    meta["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "a": "b"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a==1,b", {"a": "1"}, False),
        ("a!=1", {}, True),
        ("a in (x,y),b=2", {"a": "y", "b": "2"}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("!a", {"a": "1"}, False),
        (
            "app.kubernetes.io/managed-by in (outpost,Helm)",
            {"app.kubernetes.io/managed-by": "Helm"},
            True,
        ),
    ],
)
def test_label_selectors_match_like_the_api_server(
    selector: str, labels: dict[str, str], expected: bool
) -> None:
    assert matches(selector, labels) is expected


def test_the_store_trims_keeps_the_newest_and_hands_out_copies() -> None:
    store = Store()
    assert store.put(obj("one", 5, "ns", team="a"))
    assert not store.put(obj("one", 4, "ns", team="old"))  # an older event arriving late
    got = store.get("one", "ns")
    assert got is not None
    assert "managedFields" not in got["metadata"]
    assert got["metadata"]["annotations"] == {"a": "b"}
    got["metadata"]["labels"]["team"] = "changed"
    assert store.get("one", "ns")["metadata"]["labels"] == {"team": "a"}  # type: ignore[index]
    store.put(obj("two", 6, "other", team="b"))
    assert [o["metadata"]["name"] for o in store.select("ns")] == ["one"]
    assert [o["metadata"]["name"] for o in store.select(None, "team=b")] == ["two"]
    assert len(store) == 2
    assert store.size > 0
    assert newer("10", "9")
    assert not newer("9", "10")


class ListWatch:
    """A Kube stand-in for informers: a list answer, then scripted watch streams."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items, self.version, self.lists = items, "100", 0
        self.streams: list[list[dict[str, Any]] | Exception] = []
        self.writes = 0

    async def list_versioned(self, *_: Any) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        return [dict(i, metadata=dict(i["metadata"])) for i in self.items], self.version

    async def watch(self, *_: Any) -> AsyncIterator[dict[str, Any]]:
        script = self.streams.pop(0) if self.streams else []
        if isinstance(script, Exception):
            raise script
        for event in script:
            yield event
        if not self.streams:
            await asyncio.Event().wait()  # idle like a quiet stream

    async def apply(self, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.writes += 1
        return dict(body, metadata={**body["metadata"], "resourceVersion": "999"})


def run_informer(kube: ListWatch, events: list[tuple[str, str]]) -> Informer:
    informer = Informer(
        kube, Watched("v1", "ConfigMap"), lambda t, o: events.append((t, o["metadata"]["name"]))
    )  # type: ignore[arg-type]

    async def go() -> None:
        task = asyncio.ensure_future(informer.run())
        for _ in range(50):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    return informer


def test_a_relist_after_410_reports_only_what_changed() -> None:
    kube = ListWatch([obj(f"o{i}", 10 + i, "ns") for i in range(100)])
    expired = GoneError("too old resource version", status=410)
    kube.streams = [[{"type": "MODIFIED", "object": obj("o1", 200, "ns")}], expired]
    events: list[tuple[str, str]] = []
    # After the 410 the second list shows o2 changed and o3 gone; the other 97 are as held.
    kube_items_after = [o for o in kube.items if o["metadata"]["name"] != "o3"]
    kube_items_after[2] = obj("o2", 300, "ns")
    original = kube.list_versioned

    async def second_list(*args: Any) -> tuple[list[dict[str, Any]], str]:
        if kube.lists == 1:
            kube.items = [
                obj("o1", 200, "ns") if o["metadata"]["name"] == "o1" else o
                for o in kube_items_after
            ]
        return await original(*args)

    kube.list_versioned = second_list  # type: ignore[method-assign]
    informer = run_informer(kube, events)
    assert kube.lists == 2
    after_first = events[100:]
    assert after_first == [("MODIFIED", "o1"), ("MODIFIED", "o2"), ("DELETED", "o3")]
    assert len(informer.store) == 99


def test_reads_come_from_the_cache_and_writes_are_read_back_at_once() -> None:
    kube = ListWatch([obj("cm", 10, "ns", team="a")])
    informer = run_informer(kube, [])
    cached = CachedKube(kube, [informer])  # type: ignore[arg-type]

    async def go() -> None:
        assert (await cached.get("v1", "ConfigMap", "cm", "ns")) is not None
        assert (
            await cached.get("v1", "ConfigMap", "absent", "ns") is None
        )  # unfiltered: authoritative
        assert len(await cached.list_objects("v1", "ConfigMap", "ns", "team=a")) == 1
        await cached.apply(obj("cm", 10, "ns", team="b"))
        again = await cached.get("v1", "ConfigMap", "cm", "ns")
        assert again is not None
        assert again["metadata"]["labels"] == {"team": "b"}

    asyncio.run(go())
    assert cached.reads == {"cache": 4}
    assert kube.lists == 1
