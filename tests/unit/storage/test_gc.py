from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from swarmfly.config import GCConfig, GCPolicy
from swarmfly.storage import GarbageCollector, PieceStore, TaskRecord, TaskState
from swarmfly.storage.gc import plan_eviction

from .sample import KIB, FakeClock, content, task_id, write_task

HOUR = 3600.0
POLICY = GCPolicy(
    task_ttl=timedelta(hours=6), disk_high_threshold_percent=80, disk_low_threshold_percent=60
)
CONFIG = GCConfig(interval=timedelta(minutes=1), policy=POLICY)


def record(name: str, *, last_access_at: float, size: int = 100) -> TaskRecord:
    return TaskRecord(
        task_id(name),
        "https://example.com/",
        size,
        10,
        None,
        TaskState.SUCCEEDED,
        0.0,
        0.0,
        last_access_at,
        size,
    )


def never_in_use(task_id: str) -> bool:
    return False


TASKS = [record(name, last_access_at=at) for name, at in [("c", 3.0), ("a", 1.0), ("b", 2.0)]]


@pytest.mark.parametrize(
    ("used", "evicted"),
    [
        (800, []),  # at the high watermark: nothing to do
        (810, ["a", "b", "c"]),  # above it: down to 600 or below, oldest first
        (750, []),
        (900, ["a", "b", "c"]),  # cannot reach the low watermark: everything idle goes
    ],
)
def test_plan_evicts_least_recently_used_down_to_the_low_watermark(
    used: int, evicted: list[str]
) -> None:
    tasks = [dataclasses.replace(t, size_on_disk=100) for t in TASKS]
    plan = plan_eviction(tasks, now=10.0, policy=POLICY, total=1000, used=used, in_use=never_in_use)
    assert [t.id for t, _ in plan] == [task_id(name) for name in evicted]


def test_plan_stops_at_the_low_watermark() -> None:
    tasks = [dataclasses.replace(t, size_on_disk=150) for t in TASKS]
    plan = plan_eviction(tasks, now=10.0, policy=POLICY, total=1000, used=850, in_use=never_in_use)
    assert [(t.id, why) for t, why in plan] == [(task_id("a"), "disk"), (task_id("b"), "disk")]


def test_plan_evicts_expired_tasks_first_and_counts_them() -> None:
    now = 7 * HOUR
    tasks = [
        record("old", last_access_at=0.5 * HOUR, size=300),
        record("new", last_access_at=6.5 * HOUR, size=200),
    ]
    plan = plan_eviction(tasks, now=now, policy=POLICY, total=1000, used=700, in_use=never_in_use)
    assert [(t.id, why) for t, why in plan] == [(task_id("old"), "ttl")]
    plan = plan_eviction(tasks, now=now, policy=POLICY, total=1000, used=850, in_use=never_in_use)
    assert [(t.id, why) for t, why in plan] == [(task_id("old"), "ttl")]  # 850 - 300 <= 600
    plan = plan_eviction(tasks, now=now, policy=POLICY, total=1000, used=950, in_use=never_in_use)
    assert [(t.id, why) for t, why in plan] == [(task_id("old"), "ttl"), (task_id("new"), "disk")]


def test_plan_never_chooses_a_task_in_use() -> None:
    busy = {task_id("a")}
    plan = plan_eviction(
        TASKS, now=10 * HOUR, policy=POLICY, total=1000, used=990, in_use=busy.__contains__
    )
    assert task_id("a") not in [t.id for t, _ in plan]
    assert len(plan) == 2


class FakeDisk:
    """A filesystem that always reports the same usage, and checks it is asked about the store."""

    def __init__(self, root: Path, *, total: int, used: int) -> None:
        self.root = root
        self.total = total
        self.used = used

    def __call__(self, path: Path) -> tuple[int, int]:
        assert path == self.root
        return self.total, self.used


async def fill(store: PieceStore, clock: FakeClock, names: list[str]) -> None:
    """Five finished tasks of 64 KiB, t1 the oldest, then t1 touched so it is the newest."""
    for name in names:
        await write_task(store, task_id(name), content(name, 64 * KIB), 16 * KIB)
        clock.advance(1)
    await store.touch(task_id("t1"))


NAMES = ["t1", "t2", "t3", "t4", "t5"]


async def test_run_once_evicts_lru_tasks_past_the_high_watermark_down_to_the_low(
    store: PieceStore, clock: FakeClock
) -> None:
    await fill(store, clock, NAMES)
    disk = FakeDisk(store.root, total=1000 * KIB, used=820 * KIB)  # 82 %: 220 KiB to free
    collector = GarbageCollector(store, CONFIG, clock=clock, disk_usage=disk)
    assert await collector.run_once() == [task_id(n) for n in ["t2", "t3", "t4", "t5"]]
    assert [t.id for t in await store.tasks()] == [task_id("t1")]
    assert await store.content_bytes() == 64 * KIB


async def test_run_once_leaves_a_disk_below_the_high_watermark_alone(
    store: PieceStore, clock: FakeClock
) -> None:
    await fill(store, clock, NAMES)
    disk = FakeDisk(store.root, total=1000 * KIB, used=800 * KIB)
    collector = GarbageCollector(store, CONFIG, clock=clock, disk_usage=disk)
    assert await collector.run_once() == []
    assert len(await store.tasks()) == 5


async def test_run_once_never_evicts_a_task_in_use(store: PieceStore, clock: FakeClock) -> None:
    await fill(store, clock, NAMES)
    disk = FakeDisk(store.root, total=1000 * KIB, used=820 * KIB)
    collector = GarbageCollector(store, CONFIG, clock=clock, disk_usage=disk)
    with store.use(task_id("t2")):
        evicted = await collector.run_once()
    assert evicted == [task_id(n) for n in ["t3", "t4", "t5", "t1"]]
    assert [t.id for t in await store.tasks()] == [task_id("t2")]


async def test_run_once_evicts_tasks_unused_for_longer_than_the_ttl(
    store: PieceStore, clock: FakeClock
) -> None:
    await fill(store, clock, NAMES)
    clock.advance(6 * HOUR)
    await store.touch(task_id("t1"))
    await store.touch(task_id("t3"))
    clock.advance(1)  # the others were last used just over six hours ago
    disk = FakeDisk(store.root, total=1000 * KIB, used=100 * KIB)
    collector = GarbageCollector(store, CONFIG, clock=clock, disk_usage=disk)
    evicted = await collector.run_once()
    assert evicted == [task_id(n) for n in ["t2", "t4", "t5"]]
    assert sorted(t.id for t in await store.tasks()) == sorted([task_id("t1"), task_id("t3")])


async def test_the_background_loop_survives_errors_and_stops_at_exit(
    store: PieceStore, clock: FakeClock
) -> None:
    loop = asyncio.get_running_loop()
    second_pass = asyncio.Event()
    calls: list[Path] = []

    def flaky_disk(path: Path) -> tuple[int, int]:
        calls.append(path)
        if len(calls) == 1:
            raise OSError("statvfs failed")
        loop.call_soon_threadsafe(second_pass.set)
        return 1000, 0

    config = GCConfig(interval=timedelta(milliseconds=1), policy=POLICY)
    async with GarbageCollector.running(store, config, clock=clock, disk_usage=flaky_disk):
        async with asyncio.timeout(10):
            await second_pass.wait()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "garbage collector"] == []
