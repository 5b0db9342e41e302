"""The work queue on a real database (SQLite and PostgreSQL): claims with a lease, progress,
results written once, cancellation by delete, deadlines swept by the janitor's clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from swarmfly.errors import InvalidInput, NotFound
from swarmfly.manager.clusters import ClusterStore, NewCluster
from swarmfly.manager.database import Database
from swarmfly.manager.errors import LeaseLost, WorkEnded
from swarmfly.manager.janitor import JobJanitor
from swarmfly.manager.jobs import JobStore
from swarmfly.manager.metrics import ManagerMetrics
from swarmfly.manager.models import Job
from swarmfly.manager.preheat import parse_preheat
from swarmfly.manager.queue import JobQueue
from swarmfly.manager.schedulers import SchedulerRegistry
from swarmfly.wire.manager import (
    BlobResult,
    BlobState,
    RegisterScheduler,
    SchedulerKeepAlive,
    WorkProgress,
    WorkResult,
)
from tests.unit.scheduler.sample import FakeClock

LEASE = 30.0
URL = "https://registry.test:5000/v2/test/team/app/manifests/v1"


class World:
    """The stores over one database, sharing one fake clock."""

    def __init__(self, database: Database, clock: FakeClock) -> None:
        self.clock = clock
        self.clusters = ClusterStore(database, clock=clock)
        self.jobs = JobStore(database, clock=clock)
        self.queue = JobQueue(database, lease=timedelta(seconds=LEASE), clock=clock)
        self.schedulers = SchedulerRegistry(
            database,
            keepalive_interval=timedelta(seconds=5),
            keepalive_ttl=timedelta(seconds=30),
            clock=clock,
        )
        self.database = database

    async def scheduler(self, name: str, cluster_id: int = 1) -> int:
        message = RegisterScheduler(hostname=name, ip="127.0.0.1", port=8002, cluster_id=cluster_id)
        return (await self.schedulers.register(message)).scheduler_id

    async def job(self, clusters: tuple[int, ...] = (1,), timeout_s: float = 600) -> int:
        args = {"type": "image", "url": URL, "password": "hunter2", "timeout": int(timeout_s * 1e9)}
        spec = parse_preheat(
            args,
            default_timeout=timedelta(minutes=60),
            default_concurrent_count=8,
            now=self.clock(),
        )
        view = await self.jobs.create(
            job_type="preheat",
            bio="",
            spec=spec,
            shown_args={},
            cluster_ids=clusters,
            user_id=None,
        )
        return int(view["id"])


@pytest.fixture
async def world(database: Database, clock: FakeClock) -> World:
    made = World(database, clock)
    await made.clusters.ensure_default()
    return made


def _blob(name: str, state: BlobState = BlobState.SUCCESS, description: str = "") -> BlobResult:
    return BlobResult(
        url=f"https://registry.test:5000/v2/test/team/app/blobs/sha256:{name}",
        task_id=name,
        hostname="seed-1",
        ip="127.0.0.1",
        size=10,
        bytes_done=10 if state is BlobState.SUCCESS else 0,
        state=state,
        description=description,
    )


async def test_two_schedulers_claim_at_once_and_one_wins(world: World) -> None:
    first, second = await world.scheduler("a"), await world.scheduler("b")
    job_id = await world.job()
    claims = await asyncio.gather(world.queue.claim(first, 1), world.queue.claim(second, 1))
    won = [claim for claim in claims if claim is not None]
    assert len(won) == 1
    assert won[0].job_id == job_id
    assert won[0].args.password == "hunter2"  # the scheduler needs the registry credentials
    assert won[0].lease_seconds == LEASE
    assert await world.queue.claim(first, 1) is None


async def test_many_claims_for_many_jobs_give_each_job_once(world: World) -> None:
    schedulers = [await world.scheduler(f"s{i}") for i in range(4)]
    jobs = {await world.job() for _ in range(6)}
    claims = await asyncio.gather(*(world.queue.claim(s, 1) for s in schedulers * 3))
    claimed = [claim.job_id for claim in claims if claim is not None]
    assert sorted(claimed) == sorted(jobs)


async def test_a_lapsed_lease_is_claimable_again_and_the_first_holder_is_told(
    world: World,
) -> None:
    first, second = await world.scheduler("a"), await world.scheduler("b")
    await world.job()
    item = await world.queue.claim(first, 1)
    assert item is not None
    world.clock.advance(LEASE - 1)
    assert await world.queue.claim(second, 1) is None  # still leased
    lease = await world.queue.progress(item.work_id, WorkProgress(), scheduler_id=first)
    assert not lease.cancelled
    world.clock.advance(LEASE - 1)  # renewed: still held
    assert await world.queue.claim(second, 1) is None
    world.clock.advance(2)
    again = await world.queue.claim(second, 1)
    assert again is not None and again.work_id == item.work_id
    with pytest.raises(LeaseLost):
        await world.queue.progress(item.work_id, WorkProgress(), scheduler_id=first)
    with pytest.raises(LeaseLost):
        await world.queue.finish(item.work_id, WorkResult(success=True), scheduler_id=first)
    await world.queue.finish(item.work_id, WorkResult(success=True), scheduler_id=second)


async def test_the_result_is_written_once(world: World) -> None:
    scheduler = await world.scheduler("a")
    job_id = await world.job()
    item = await world.queue.claim(scheduler, 1)
    assert item is not None
    progress = WorkProgress(blobs=[_blob("a", BlobState.PENDING)])
    await world.queue.progress(item.work_id, progress, scheduler_id=scheduler)
    success = WorkResult(success=True, blobs=[_blob("a"), _blob("b")])
    finishes = await asyncio.gather(
        world.queue.finish(item.work_id, success, scheduler_id=scheduler),
        world.queue.finish(
            item.work_id, WorkResult(success=False, error="late"), scheduler_id=scheduler
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(outcome, WorkEnded) for outcome in finishes) == 1
    view = await world.jobs.get(job_id)
    state = view["result"]["job_states"][0]
    assert view["state"] in ("SUCCESS", "FAILURE")
    if view["state"] == "SUCCESS":
        assert [t["task_id"] for t in state["results"][0]["success_tasks"]] == ["a", "b"]
    with pytest.raises(WorkEnded):
        await world.queue.finish(item.work_id, success, scheduler_id=scheduler)
    lease = await world.queue.progress(item.work_id, WorkProgress(), scheduler_id=scheduler)
    assert lease.cancelled


async def test_the_job_settles_over_its_clusters(world: World) -> None:
    await world.clusters.create(NewCluster(name="cluster-2"))
    one, two = await world.scheduler("a", 1), await world.scheduler("b", 2)
    ok_job = await world.job((1, 2))
    bad_job = await world.job((1, 2))
    for scheduler, cluster in ((one, 1), (two, 2)):
        for _ in range(2):
            item = await world.queue.claim(scheduler, cluster)
            assert item is not None and item.cluster_id == cluster
            result = WorkResult(success=True, blobs=[_blob("a")])
            if item.job_id == bad_job and cluster == 2:
                result = WorkResult(
                    success=False,
                    error="401 from the registry",
                    blobs=[_blob("a", BlobState.FAILURE, "401 Unauthorized")],
                )
            await world.queue.finish(item.work_id, result, scheduler_id=scheduler)
            if item.job_id == ok_job and cluster == 1:
                assert (await world.jobs.get(ok_job))["state"] == "PENDING"
    assert (await world.jobs.get(ok_job))["state"] == "SUCCESS"
    failed = await world.jobs.get(bad_job)
    assert failed["state"] == "FAILURE"
    failure = failed["result"]["job_states"][1]["results"][0]["failure_tasks"][0]
    assert failure["description"] == "401 Unauthorized"
    async with world.database.read() as session:
        for job_id in (ok_job, bad_job):
            job = await session.get(Job, job_id)
            assert job is not None and job.spec["password"] == ""  # scrubbed at the end


async def test_delete_cancels_the_work(world: World) -> None:
    scheduler = await world.scheduler("a")
    job_id = await world.job()
    item = await world.queue.claim(scheduler, 1)
    assert item is not None
    await world.jobs.delete(job_id)
    lease = await world.queue.progress(item.work_id, WorkProgress(), scheduler_id=scheduler)
    assert lease.cancelled
    with pytest.raises(WorkEnded):
        await world.queue.finish(item.work_id, WorkResult(success=True), scheduler_id=scheduler)
    with pytest.raises(NotFound):
        await world.jobs.get(job_id)
    assert await world.queue.claim(scheduler, 1) is None


async def test_the_janitor_fails_jobs_past_their_deadline(world: World) -> None:
    scheduler = await world.scheduler("a")
    held = await world.job(timeout_s=60)
    item = await world.queue.claim(scheduler, 1)
    assert item is not None and item.job_id == held
    unclaimed = await world.job(timeout_s=120)
    janitor = JobJanitor(world.queue, world.schedulers, ManagerMetrics(), interval=1)
    world.clock.advance(59)
    await world.schedulers.keepalive(scheduler, SchedulerKeepAlive())
    assert (await janitor.sweep()).timed_out_jobs == []
    world.clock.advance(1)
    assert (await janitor.sweep()).timed_out_jobs == [held]
    view = await world.jobs.get(held)
    assert view["state"] == "FAILURE"
    assert "timeout" in view["result"]["job_states"][0]["error"]
    assert (await world.queue.progress(item.work_id, WorkProgress())).cancelled
    world.clock.advance(59)
    assert await world.queue.claim(scheduler, 1) is not None  # the second job, still in time
    world.clock.advance(1)
    swept = await janitor.sweep()
    assert swept.timed_out_jobs == [unclaimed]
    assert swept.inactive_schedulers == [scheduler]  # silent for 60 s > keepaliveTTL
    assert (await world.jobs.get(unclaimed))["state"] == "FAILURE"


async def test_claims_need_a_live_deadline_and_the_right_cluster(world: World) -> None:
    await world.clusters.create(NewCluster(name="cluster-2"))
    one = await world.scheduler("a", 1)
    await world.job((2,))
    assert await world.queue.claim(one, 1) is None
    await world.job((1,), timeout_s=10)
    world.clock.advance(11)
    assert await world.queue.claim(one, 1) is None  # past its deadline, not handed out


async def test_registration_needs_a_known_cluster_and_keepalives_a_known_id(world: World) -> None:
    with pytest.raises(InvalidInput, match="cluster_id"):
        await world.scheduler("a", cluster_id=9)
    first = await world.scheduler("a")
    assert await world.scheduler("a") == first  # the same scheduler gets its ID back
    with pytest.raises(NotFound):
        await world.schedulers.keepalive(first + 100, SchedulerKeepAlive())
    with pytest.raises(NotFound):
        await world.schedulers.check(first, cluster_id=2)


async def test_unknown_work(world: World) -> None:
    with pytest.raises(NotFound):
        await world.queue.progress(999, WorkProgress())
    with pytest.raises(NotFound):
        await world.queue.finish(999, WorkResult(success=True))


async def test_results_deletes_and_timeouts_racing_on_one_job_never_deadlock(
    world: World,
) -> None:
    await world.clusters.create(NewCluster(name="cluster-2"))
    one, two = await world.scheduler("a", 1), await world.scheduler("b", 2)
    janitor = JobJanitor(world.queue, world.schedulers, ManagerMetrics(), interval=1)
    for round_ in range(6):
        job_id = await world.job((1, 2), timeout_s=5)
        first, second = await world.queue.claim(one, 1), await world.queue.claim(two, 2)
        assert first is not None and second is not None
        if round_ % 2:
            world.clock.advance(6)  # the janitor races them too
        outcomes = await asyncio.gather(
            world.queue.finish(first.work_id, WorkResult(success=True), scheduler_id=one),
            world.queue.progress(second.work_id, WorkProgress(), scheduler_id=two),
            world.jobs.delete(job_id),
            world.queue.finish(second.work_id, WorkResult(success=False), scheduler_id=two),
            janitor.sweep(),
            return_exceptions=True,
        )
        unexpected = [
            o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, WorkEnded)
        ]
        assert unexpected == []
