"""The trust floor goes up only: the chart's `-trust-floor` admission policy, tried with a token
minted for the chart's ServiceAccount against the real API server. The agent may patch the
ConfigMap `outpost-trust-floor` by name (RBAC); the policy refuses every patch that lowers the
keyring version, swaps the keyring at the same version, or removes or lowers a channel's
remembered sequence, and lets the raises the agent really writes through.

Rows are added to the can-i matrix (`$OUTPOST_CAN_I_MATRIX`) as "real request as the agent".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from bundle.rollback import Applied
from bundle.trustfloor import Floor, applied_key, applied_to_data, floor_to_data
from facts.api import TRUST_FLOOR_CONFIGMAP
from tests.cluster.chart.matrix import Scenario, write_matrix
from tests.cluster.chart.release import (
    Release,
    apply_crds,
    eventually,
    install,
    new_release_name,
    token_kubeconfig,
)
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
POLICY = "ValidatingAdmissionPolicy"
DIGEST_2 = "2" * 64
PRODUCT, CHANNEL = "shop", "stable"
KEY = applied_key(PRODUCT, CHANNEL)


def applied(sequence: int) -> str:
    """The entry exactly as the agent and `bundle apply` write it."""
    return applied_to_data(PRODUCT, CHANNEL, Applied(sequence, "sha256:" + "e" * 64))[KEY]


class Floors(Scenario):
    """The scenario plus patches of the trust floor as the agent."""

    def patch(self, what: str, data: dict[str, str | None], ok: bool) -> str:
        body = json.dumps({"data": data})
        argv = ("patch", "configmap", TRUST_FLOOR_CONFIGMAP, "-n", self.own_ns, "-p", body)
        if not ok:  # a new policy takes a moment to apply: dry runs (no write) wait for it
            settle = time.monotonic() + 30
            while time.monotonic() < settle:
                probe = self.agent(*argv, "--dry-run=server")
                if probe.returncode != 0 and POLICY in probe.stderr:
                    break
                time.sleep(1)
        proc = eventually(lambda: self.agent(*argv), ok)
        self.record(what, ok, proc)
        assert (proc.returncode == 0) == ok, f"{what}: {proc.stderr or 'accepted'}"
        assert ok or POLICY in proc.stderr, f"{what}: refused for another reason: {proc.stderr}"
        return proc.stderr


@pytest.fixture(scope="module")
def floors(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floors]:
    suffix = uuid.uuid4().hex[:6]
    release = Release(new_release_name(), f"oa-floor-{suffix}", cluster.helm)
    cluster.kubectl_run("create", "namespace", release.namespace)
    apply_crds(cluster)
    install(cluster, release, "--set", "crds.enabled=false")
    kubeconfig = token_kubeconfig(cluster, release, tmp_path_factory.mktemp("sa") / "agent.yaml")
    found = Floors(cluster, release, kubeconfig, suffix=suffix)
    data = {**floor_to_data(Floor(2, DIGEST_2)), KEY: applied(5), "license": "kept"}
    literals = [f"--from-literal={k}={v}" for k, v in data.items()]
    cluster.kubectl_run(
        "create", "configmap", TRUST_FLOOR_CONFIGMAP, "-n", release.namespace, *literals
    )
    yield found
    write_matrix(found)
    cluster.kubectl_run(
        "delete", "namespace", release.namespace, "--wait=false", "--ignore-not-found", check=False
    )


def test_the_keyring_floor_cannot_go_down_or_change_keyring(floors: Floors) -> None:
    message = floors.patch("lower keyringVersion 2 → 1", {"keyringVersion": "1"}, False)
    assert "may only raise the trust floor" in message
    floors.patch("remove keyringVersion", {"keyringVersion": None}, False)
    floors.patch("keyringVersion 2 → '02x' (not a version)", {"keyringVersion": "02x"}, False)
    other = {"keyringDigest": "sha256:" + "6" * 64}
    message = floors.patch("another keyringDigest at version 2", other, False)
    assert "keyringDigest" in message
    floors.patch("remove keyringDigest at version 2", {"keyringDigest": None}, False)


def test_a_channel_sequence_cannot_be_removed_or_lowered(floors: Floors) -> None:
    message = floors.patch("remove applied.* (seq 5)", {KEY: None}, False)
    assert "applied.*" in message
    floors.patch("lower applied.* 5 → 4", {KEY: applied(4)}, False)
    doc = json.loads(applied(5))
    # Python reads the last of two keys: a first "sequence": 9 must not pass for a raise.
    twice = applied(9)[:-1] + ', "sequence": 1}'
    floors.patch("applied.* with two sequence keys", {KEY: twice}, False)
    compact = json.dumps({**doc, "sequence": 9}, separators=(",", ":"))
    floors.patch("applied.* as non-canonical JSON", {KEY: compact}, False)


def test_the_agent_raises_what_it_really_writes(floors: Floors) -> None:
    floors.patch("unrelated key beside the floor", {"license": "renewed"}, True)
    floors.patch("raise applied.* 5 → 6", {KEY: applied(6)}, True)
    other = applied_to_data(PRODUCT, "beta", Applied(1, "sha256:" + "b" * 64))
    floors.patch("add applied.* of a new channel", dict(other), True)
    raised = floor_to_data(Floor(3, "3" * 64))
    floors.patch("raise keyringVersion 2 → 3 with its digest", dict(raised), True)
    floors.patch("lower keyringVersion 3 → 2 after the raise", {"keyringVersion": "2"}, False)
