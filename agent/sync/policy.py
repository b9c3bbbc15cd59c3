"""Delivery decisions: when to retry, what a hub answer means, how the spool stays bounded.

Pure: the random source and the current time are passed in, so tests are deterministic.
Backoff is exponential with full jitter (a random delay between zero and the capped exponential),
which spreads many agents reconnecting after a hub outage.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_SPOOL_ITEMS = 64
# A ConfigMap holds at most 1 MiB; leave room for its metadata.
DEFAULT_SPOOL_BYTES = 768 * 1024


class Outcome(enum.Enum):
    ACKED = "acked"  # verified hub ack for this report: drop it from the spool
    RETRY = "retry"  # network, 5xx, 407/408/429, or an unverifiable answer: keep, back off
    REJECTED = "rejected"  # a 4xx the hub will repeat forever: drop it and count it


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    factor: float = 2.0
    cap_seconds: float = 600.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after `failures` consecutive failures (0 → no wait)."""
        if failures <= 0:
            return 0.0
        ceiling = min(self.cap_seconds, self.base_seconds * self.factor ** (failures - 1))
        return rng.uniform(0.0, ceiling)

    def next_attempt(self, failures: int, now: datetime, rng: random.Random) -> datetime:
        """When to try again after `failures` failures (backoff with jitter)."""
        return now + timedelta(seconds=self.delay(failures, rng))


def classify(status_code: int, ack_verified: bool) -> Outcome:
    """Map a hub answer to what the agent does with the report it sent."""
    if 200 <= status_code < 300:
        return Outcome.ACKED if ack_verified else Outcome.RETRY
    if status_code in (407, 408, 425, 429) or status_code >= 500:
        return Outcome.RETRY
    if 400 <= status_code < 500:
        return Outcome.REJECTED
    return Outcome.RETRY


@dataclass(frozen=True)
class SpoolLimits:
    max_items: int = DEFAULT_SPOOL_ITEMS
    max_bytes: int = DEFAULT_SPOOL_BYTES


def enqueue(
    spool: Sequence[bytes], item: bytes, limits: SpoolLimits
) -> tuple[tuple[bytes, ...], int]:
    """Append `item`; drop the oldest entries until both limits hold. Returns (spool, dropped)."""
    kept = [*spool, item]
    size = sum(len(entry) for entry in kept)
    dropped = 0
    while len(kept) > 1 and (len(kept) > limits.max_items or size > limits.max_bytes):
        size -= len(kept.pop(0))
        dropped += 1
    return tuple(kept), dropped
