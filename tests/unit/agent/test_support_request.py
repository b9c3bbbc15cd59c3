"""SupportBundleRequest decisions: a request is served once per generation (retried only while
the install key is missing or collection failed), and an archive goes to the hub only when the
request allows it and the customer shares `support`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent.support.request import Produced, pending, upload
from agent.sync.config import SyncConfig

PRODUCED = Produced(b"archive", "agt_" + "0" * 32, 3, 1)


def request(generation: int, *conditions: tuple[str, str, int]) -> dict[str, Any]:
    items = [{"type": t, "status": "False", "reason": r, "observedGeneration": g}
             for t, r, g in conditions]  # fmt: skip
    return {"metadata": {"generation": generation}, "status": {"conditions": items}}


def test_a_request_is_served_once_per_generation() -> None:
    assert pending(request(1))
    assert not pending(request(1, ("Ready", "Produced", 1)))
    assert not pending(request(1, ("Ready", "TooLarge", 1)))
    assert pending(request(2, ("Ready", "Produced", 1))), "a changed spec is served again"
    assert pending(request(1, ("Ready", "NoInstallKey", 1)))
    assert pending(request(1, ("Ready", "CollectFailed", 1)))
    assert pending(request(1, ("Uploaded", "Uploaded", 1))), "only Ready decides"


@pytest.mark.parametrize(
    ("share", "spec", "reason"),
    [
        (None, {}, "HubOff"),
        (frozenset({"health", "usage", "versions"}), {}, "ConsentWithheld"),
        (frozenset({"support"}), {"upload": False}, "NotRequested"),
    ],
)
def test_nothing_is_sent_without_a_hub_consent_or_the_requests_leave(
    share: frozenset[str] | None, spec: dict[str, Any], reason: str
) -> None:
    # The hub URL is unroutable: reaching it would answer HubUnavailable, not the reason above.
    config = None if share is None else SyncConfig("http://192.0.2.1:9", {}, share=share)

    async def go() -> tuple[str, str, str]:
        return await upload(config, spec, PRODUCED)

    assert asyncio.run(go())[:2] == ("False", reason)
