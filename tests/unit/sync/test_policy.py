"""Delivery policy: backoff with jitter, what each hub answer means, the bounded spool.

Aspects: delays grow exponentially, stay under the cap and are jittered by the given rng;
answers map to acked / retry / rejected; the spool drops oldest first and counts the drops;
sync is off unless configured.
"""

from __future__ import annotations

import random

import pytest

from agent.errors import ConfigError
from agent.sync import config
from agent.sync.policy import Outcome, RetryPolicy, SpoolLimits, classify, enqueue
from tests.unit.hub.hubkit import T0


def test_backoff_grows_exponentially_under_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_seconds=1, factor=2, cap_seconds=30)
    rng = random.Random(7)
    ceilings = [1, 2, 4, 8, 16, 30, 30]
    for failures, ceiling in enumerate(ceilings, start=1):
        delays = [policy.delay(failures, rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range
    assert policy.delay(0, rng) == 0


def test_the_same_seed_gives_the_same_schedule() -> None:
    policy = RetryPolicy()
    first = [policy.next_attempt(n, T0, random.Random(1)) for n in range(1, 6)]
    second = [policy.next_attempt(n, T0, random.Random(1)) for n in range(1, 6)]
    assert first == second
    assert all(moment >= T0 for moment in first)


@pytest.mark.parametrize(
    ("status", "verified", "outcome"),
    [
        (202, True, Outcome.ACKED),
        (200, True, Outcome.ACKED),
        (202, False, Outcome.RETRY),
        (500, False, Outcome.RETRY),
        (503, False, Outcome.RETRY),
        (429, False, Outcome.RETRY),
        (407, False, Outcome.RETRY),
        (301, False, Outcome.RETRY),
        (409, False, Outcome.REJECTED),
        (401, False, Outcome.REJECTED),
        (413, False, Outcome.REJECTED),
    ],
)
def test_hub_answers_map_to_outcomes(status: int, verified: bool, outcome: Outcome) -> None:
    assert classify(status, verified) is outcome


def test_the_spool_drops_oldest_first_and_counts_drops() -> None:
    limits = SpoolLimits(max_items=3, max_bytes=1000)
    spool: tuple[bytes, ...] = ()
    dropped = 0
    for n in range(5):
        spool, lost = enqueue(spool, b"r%d" % n, limits)
        dropped += lost
    assert spool == (b"r2", b"r3", b"r4")
    assert dropped == 2


def test_the_spool_respects_its_byte_limit_but_keeps_the_newest() -> None:
    limits = SpoolLimits(max_items=10, max_bytes=25)
    spool, dropped = enqueue((b"a" * 10, b"b" * 10), b"c" * 10, limits)
    assert (spool, dropped) == ((b"b" * 10, b"c" * 10), 1)
    spool, dropped = enqueue(spool, b"d" * 40, limits)
    assert (spool, dropped) == ((b"d" * 40,), 2)


def test_sync_is_off_unless_a_hub_is_configured() -> None:
    assert config.from_env({}) is None
    with pytest.raises(ConfigError, match="OUTPOST_HUB_KEYS"):
        config.from_env({"OUTPOST_HUB_URL": "https://hub.example"})
    with pytest.raises(ConfigError, match="https"):
        config.from_env({"OUTPOST_HUB_URL": "ftp://hub.example"})
