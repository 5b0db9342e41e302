"""The first source of a task: the decision without parents, the seed ring, and seed orders
(one per task however many ask, the next seed peer when one refuses)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from swarmfly import errors
from swarmfly.hashring import HashRing
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.seeds import (
    Fallback,
    NoParentPlan,
    SeedOrders,
    SeedPlacement,
    SeedRing,
    plan_without_parents,
)
from swarmfly.scheduler.state import Peer, PeerState
from swarmfly.wire.scheduler import HostInfo, TaskSpec
from tests.unit.scheduler.sample import TTL, FakeSeeds, World, host_info, spec

Setup = Callable[[World, Peer], None]


def _nothing(world: World, child: Peer) -> None:
    pass


def _child_fetches_from_source(world: World, child: Peer) -> None:
    child.state = PeerState.BACK_TO_SOURCE


def _unusable_source(world: World, child: Peer) -> None:
    world.peer("source", child.host, state=PeerState.BACK_TO_SOURCE)


def _source_on_silent_host(world: World, child: Peer) -> None:
    source = world.peer("source", state=PeerState.BACK_TO_SOURCE)
    source.host.last_seen -= TTL + 1


def _failed_source(world: World, child: Peer) -> None:
    world.peer("source", state=PeerState.FAILED, pieces=[0])


def _other_empty_peers(world: World, child: Peer) -> None:
    world.peer("waiting")
    world.peer("running", state=PeerState.RUNNING)


@pytest.mark.parametrize(
    ("setup", "seeds_alive", "order_failed", "expected"),
    [
        (_nothing, True, False, NoParentPlan(Fallback.ORDER_SEED)),
        (_nothing, False, False, NoParentPlan(Fallback.BACK_TO_SOURCE, "no seed peer")),
        (_nothing, True, True, NoParentPlan(Fallback.BACK_TO_SOURCE, "seed order failed")),
        (_other_empty_peers, True, False, NoParentPlan(Fallback.ORDER_SEED)),
        (_other_empty_peers, False, False, NoParentPlan(Fallback.BACK_TO_SOURCE, "no seed peer")),
        (_source_on_silent_host, True, False, NoParentPlan(Fallback.ORDER_SEED)),
        (_failed_source, True, False, NoParentPlan(Fallback.ORDER_SEED)),
        (
            _unusable_source,
            True,
            False,
            NoParentPlan(Fallback.BACK_TO_SOURCE, "no usable parent"),
        ),
        (
            _child_fetches_from_source,
            True,
            False,
            NoParentPlan(Fallback.BACK_TO_SOURCE, "already fetching from the source"),
        ),
    ],
)
def test_plan_without_parents(
    setup: Setup, seeds_alive: bool, order_failed: bool, expected: NoParentPlan
) -> None:
    world = World()
    child = world.peer("child")
    setup(world, child)
    plan = plan_without_parents(
        world.state.task_of(child),
        child,
        seeds_alive=seeds_alive,
        order_failed=order_failed,
        now=world.clock(),
        host_ttl=TTL,
    )
    assert plan == expected


def test_seed_ring_follows_the_hash_ring_and_moves_only_a_lost_seeds_tasks() -> None:
    seeds = [host_info(f"seed-{index}", seed=True) for index in range(4)]
    ring = SeedRing()
    task_ids = [spec(f"t{index}").task_id for index in range(200)]
    before = {task_id: ring.order(task_id, seeds) for task_id in task_ids}
    reference = HashRing(seed.host_id for seed in seeds)
    for task_id, order in before.items():
        assert order[0].host_id == reference.owner(task_id)
        assert sorted(seed.host_id for seed in order) == sorted(s.host_id for s in seeds)
    lost = seeds[1]
    for task_id in task_ids:
        after = ring.order(task_id, [seed for seed in seeds if seed is not lost])
        expected = [seed for seed in before[task_id] if seed is not lost]
        assert after == expected
    assert ring.order(task_ids[0], []) == []


class Placements:
    def __init__(self, missing: set[str] | None = None) -> None:
        self.placed: list[SeedPlacement] = []
        self.missing = missing or set()

    def __call__(self, task: TaskSpec, placement: SeedPlacement) -> None:
        if placement.host_id in self.missing:
            raise errors.NotFound("host went away")
        self.placed.append(placement)


SEEDS = [host_info(f"seed-{index}", seed=True) for index in range(3)]


def _orders(fake: FakeSeeds, placements: Placements) -> tuple[SeedOrders, SchedulerMetrics]:
    metrics = SchedulerMetrics()
    return SeedOrders(fake, timeout=1.0, placed=placements, metrics=metrics), metrics


def _count(metrics: SchedulerMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "swarmfly_scheduler_seed_orders_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_concurrent_requests_share_one_order() -> None:
    fake, placements = FakeSeeds(), Placements()
    fake.release.clear()
    orders, metrics = _orders(fake, placements)
    async with orders.running():
        waiters = [asyncio.create_task(orders.place(spec(), SEEDS)) for _ in range(5)]
        await fake.reached.wait()
        assert orders.in_flight(spec().task_id)
        fake.release.set()
        results = await asyncio.gather(*waiters)
    assert len(fake.orders) == 1
    assert fake.orders[0][0] == SEEDS[0].ip
    assert fake.orders[0][1].peer_id.startswith(f"{SEEDS[0].host_id}-")
    assert fake.orders[0][1].task == spec()
    assert results == [placements.placed[0]] * 5
    assert results[0] == SeedPlacement(SEEDS[0].host_id, fake.orders[0][1].peer_id, False)
    assert _count(metrics, "accepted") == 1
    assert not orders.in_flight(spec().task_id)


async def test_the_next_seed_is_tried_when_one_refuses_or_vanished() -> None:
    fake, placements = FakeSeeds(), Placements(missing={SEEDS[1].host_id})
    fake.refuse[SEEDS[0].ip] = errors.Unavailable("refused")
    fake.state = "succeeded"
    orders, metrics = _orders(fake, placements)
    async with orders.running():
        placement = await orders.place(spec(), SEEDS)
    assert [ip for ip, _ in fake.orders] == [seed.ip for seed in SEEDS]
    assert placement is not None and placement.host_id == SEEDS[2].host_id
    assert placement.complete
    assert (_count(metrics, "failed"), _count(metrics, "accepted")) == (2, 1)


async def test_no_seed_accepting_gives_none() -> None:
    fake, placements = FakeSeeds(), Placements()
    for seed in SEEDS:
        fake.refuse[seed.ip] = errors.Timeout("slow")
    orders, metrics = _orders(fake, placements)
    async with orders.running():
        assert await orders.place(spec(), SEEDS) is None
        assert await orders.place(spec(), []) is None
    assert _count(metrics, "timeout") == 3 and not placements.placed


async def test_a_waiter_that_goes_away_does_not_cancel_the_order() -> None:
    fake, placements = FakeSeeds(), Placements()
    fake.release.clear()
    orders, _ = _orders(fake, placements)
    async with orders.running():
        impatient = asyncio.create_task(orders.place(spec(), SEEDS))
        await fake.reached.wait()
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        patient = asyncio.create_task(orders.place(spec(), SEEDS))
        fake.release.set()
        assert (await patient) == placements.placed[0]
    assert len(fake.orders) == 1


async def test_stopping_cancels_orders_in_flight() -> None:
    fake, placements = FakeSeeds(), Placements()
    fake.release.clear()
    orders, _ = _orders(fake, placements)
    async with orders.running():
        waiter = asyncio.create_task(orders.place(spec(), SEEDS))
        await fake.reached.wait()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not placements.placed
    with pytest.raises(errors.Unavailable):
        await orders.place(spec(), SEEDS)


def test_host_info_is_what_orders_need() -> None:
    seed: HostInfo = SEEDS[0]
    assert seed.is_seed and seed.control_port == seed.upload_port + 3
