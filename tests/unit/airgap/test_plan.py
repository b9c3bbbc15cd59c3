"""The pure push plan: skip, mount, resume, upload, manifests children first, byte counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgap.graph import LayoutGraph
from airgap.layout import read_layout
from airgap.plan import Inventory, plan_from_inventory, render_plan
from airgap.synthetic import ImageSpec, write_layout
from refs.address import parse_address

REGISTRY = parse_address("mirror.corp/outpost")
API, WORKER = "outpost/acme/api", "outpost/acme/worker"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> LayoutGraph:
    root = tmp_path_factory.mktemp("plan") / "oci"
    write_layout(
        root,
        [
            ImageSpec(
                "registry.acme.dev/acme/api:2.14.0", platforms=("linux/amd64",), shared=(1024,)
            ),
            ImageSpec("registry.acme.dev/acme/worker:2.14.0", shared=(1024,)),
        ],
        seed=2,
    )
    return read_layout(root)


def all_blobs(graph: LayoutGraph, index: int) -> frozenset[str]:
    return frozenset(d.digest for d in graph.closure(graph.images[index])[0])


def test_empty_registry_uploads_everything_once_and_mounts_the_shared_layer(
    graph: LayoutGraph,
) -> None:
    plan = plan_from_inventory(graph, REGISTRY, Inventory())
    assert [r.repository for r in plan.repositories] == [API, WORKER]
    assert plan.count("mount") == 1
    assert plan.count("exists") == 0
    total = sum(d.size for d in graph.blobs.values())
    shared = next(s for s in plan.blob_steps if s.action == "mount")
    assert plan.bytes_to_send == total  # every distinct blob exactly once
    assert shared.source == API
    assert shared.repository == WORKER
    assert all(not m.exists for m in plan.manifest_steps)


def test_everything_present_means_zero_bytes_and_no_manifests(graph: LayoutGraph) -> None:
    digests = {n.descriptor.digest for n in graph.manifests.values()}
    inventory = Inventory(
        blobs={API: all_blobs(graph, 0), WORKER: all_blobs(graph, 1)},
        manifests={API: frozenset(digests), WORKER: frozenset(digests)},
        tags={
            (API, "2.14.0"): graph.images[0].root.digest,
            (WORKER, "2.14.0"): graph.images[1].root.digest,
        },
    )
    plan = plan_from_inventory(graph, REGISTRY, inventory)
    assert plan.bytes_to_send == 0
    assert plan.count("exists") == len(plan.blob_steps)
    assert all(m.exists for m in plan.manifest_steps)


def test_blob_in_another_repository_is_mounted_from_it(graph: LayoutGraph) -> None:
    plan = plan_from_inventory(
        graph, REGISTRY, Inventory(blobs={"other/repo": all_blobs(graph, 0)})
    )
    api = next(r for r in plan.repositories if r.repository == API)
    assert {(s.action, s.source) for s in api.blobs} == {("mount", "other/repo")}


def test_journaled_upload_is_resumed_from_its_offset(graph: LayoutGraph) -> None:
    big = max(graph.closure(graph.images[0])[0], key=lambda d: d.size)
    plan = plan_from_inventory(graph, REGISTRY, Inventory(uploads={(API, big.digest): 100}))
    (step,) = [s for s in plan.blob_steps if s.action == "resume"]
    assert (step.digest, step.offset, step.bytes_to_send) == (big.digest, 100, big.size - 100)


def test_moved_tag_is_pushed_again(graph: LayoutGraph) -> None:
    plan = plan_from_inventory(
        graph, REGISTRY, Inventory(tags={(API, "2.14.0"): "sha256:" + "0" * 64})
    )
    tagged = [m for m in plan.manifest_steps if m.reference == "2.14.0" and m.repository == API]
    assert len(tagged) == 1
    assert not tagged[0].exists


def test_children_are_pushed_before_the_tagged_index(graph: LayoutGraph) -> None:
    plan = plan_from_inventory(graph, REGISTRY, Inventory())
    worker = next(r for r in plan.repositories if r.repository == WORKER)
    assert [m.reference for m in worker.manifests][-1] == "2.14.0"
    assert all(m.reference.startswith("sha256:") for m in worker.manifests[:-1])


def test_dry_run_text_and_json_agree(graph: LayoutGraph) -> None:
    plan = plan_from_inventory(graph, REGISTRY, Inventory())
    doc = plan.to_dict()
    assert doc["bytesToSend"] == plan.bytes_to_send
    assert f"{plan.bytes_to_send} bytes to send" in render_plan(plan)
    assert doc["images"][0]["target"].startswith("mirror.corp/outpost/acme/api@sha256:")


def test_plan_is_deterministic(graph: LayoutGraph, tmp_path: Path) -> None:
    assert plan_from_inventory(graph, REGISTRY, Inventory()) == plan_from_inventory(
        graph, REGISTRY, Inventory()
    )
