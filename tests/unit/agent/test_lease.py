"""Leader election: one holder; standbys wait a whole lease of unchanged record; release."""

from __future__ import annotations

import asyncio

from agent.runtime.lease import LeaderElector, Observation, may_acquire
from tests.unit.agent.kubefake import FakeKube


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _elector(kube: FakeKube, me: str, clock: FakeClock) -> LeaderElector:
    return LeaderElector(
        kube, "outpost-system", "outpost-agent", me, lease_seconds=15, renew_seconds=5, clock=clock
    )


def test_may_acquire_rules() -> None:
    assert may_acquire(Observation("1", "", 0), "me", 1, 15)
    assert may_acquire(Observation("1", "me", 0), "me", 1, 15)
    assert not may_acquire(Observation("1", "other", 0), "me", 14.9, 15)
    assert may_acquire(Observation("1", "other", 0), "me", 15, 15)


def test_only_one_replica_leads_and_standby_takes_over_after_expiry() -> None:
    kube, clock = FakeKube(), FakeClock()
    a, b = _elector(kube, "a", clock), _elector(kube, "b", clock)

    async def main() -> None:
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
        clock.now = 10
        assert await a.try_acquire_or_renew()  # renewed: record changed
        assert not await b.try_acquire_or_renew()
        clock.now = 24  # b first saw the renewed record at 10; 14 s later it is still valid
        assert not await b.try_acquire_or_renew()
        clock.now = 26  # a stopped renewing (killed): 16 s of an unchanged record
        assert await b.try_acquire_or_renew()
        assert not await a.try_acquire_or_renew()

    asyncio.run(main())
    lease = kube.objects[("Lease", "outpost-system", "outpost-agent")]
    assert lease["spec"]["holderIdentity"] == "b"
    assert lease["spec"]["leaseTransitions"] == 1


def test_release_hands_over_at_once() -> None:
    kube, clock = FakeKube(), FakeClock()
    a, b = _elector(kube, "a", clock), _elector(kube, "b", clock)

    async def main() -> None:
        assert await a.try_acquire_or_renew()
        a._set_leading(True)
        await a.release()
        assert not a.leading.is_set()
        assert await b.try_acquire_or_renew()

    asyncio.run(main())
