"""The preheat work queue, in the database, as schedulers see it through ``wire/manager.py``.

A claim is one conditional UPDATE, as arq claims its jobs::

    UPDATE job_work SET owner=:me, lease_until=:t, state='RUNNING'
     WHERE id=:id AND state IN ('PENDING','RUNNING')
       AND (lease_until IS NULL OR lease_until < :now)

then the rowcount says whether this scheduler won (two schedulers never both get it; a lease
that lapsed makes the work claimable again). Progress renews the lease of the holder and merges
its blob reports; a result writes the terminal state once, under ``asyncio.shield`` in a task
the queue owns, so a caller that goes away mid-write cannot leave it half done. Every change
to a work item's state settles its job: FAILURE as soon as one work item failed, SUCCESS when
all succeeded; the job's secrets are scrubbed when no work on it is live any more.

Locks are always taken job row first, then its work rows (claim, result, timeout and delete
alike), so two transactions on PostgreSQL never wait for each other in a circle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from swarmfly.manager.clock import Clock, system_clock, utc_now
from swarmfly.manager.database import Database
from swarmfly.manager.errors import LeaseLost, WorkEnded, WorkNotFound
from swarmfly.manager.models import Job, JobWork
from swarmfly.manager.preheat import scrubbed
from swarmfly.manager.work import (
    LIVE_WORK_STATES,
    JobState,
    WorkState,
    first_error,
    job_state,
    merge_blobs,
)
from swarmfly.wire.manager import PreheatArgs, WorkItem, WorkLease, WorkProgress, WorkResult

logger = logging.getLogger(__name__)

#: Candidates looked at per claim: another scheduler may win the first ones.
CLAIM_CANDIDATES = 8


async def lock_job(session: AsyncSession, job_id: int) -> Job:
    """The job's row, locked (PostgreSQL; SQLite has one writer anyway) and read afresh."""
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    assert job is not None  # work rows reference their job; jobs are never removed
    return job


async def settle_job(session: AsyncSession, job_id: int, now: datetime) -> JobState | None:
    """Recompute the job's state from its work (its row locked by the caller); returns the
    state it just reached, if any."""
    job = await lock_job(session, job_id)
    works = list(
        await session.execute(
            select(JobWork.state, JobWork.cluster_id, JobWork.error)
            .where(JobWork.job_id == job_id)
            .order_by(JobWork.id)
        )
    )
    state = job_state(work.state for work in works)
    if not any(work.state in LIVE_WORK_STATES for work in works):
        job.spec = scrubbed(PreheatArgs.model_validate(job.spec)).model_dump(mode="json")
    if job.state != JobState.PENDING or state == JobState.PENDING:
        return None
    job.state = state.value
    job.error = first_error((work.cluster_id, work.error) for work in works)
    job.updated_at = now
    logger.info("job finished", extra={"job_id": job_id, "state": state.value})
    return state


class JobQueue:
    def __init__(
        self, database: Database, *, lease: timedelta, clock: Clock = system_clock
    ) -> None:
        self._db = database
        self._lease = lease
        self._clock = clock
        self._finishing: set[asyncio.Task[JobState | None]] = set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[JobQueue]:
        """Own the results being written; wait for them when the block exits."""
        try:
            yield self
        finally:
            if self._finishing:
                await asyncio.wait(set(self._finishing))

    @property
    def lease_seconds(self) -> float:
        return self._lease.total_seconds()

    async def claim(self, scheduler_id: int, cluster_id: int) -> WorkItem | None:
        """The oldest claimable work of the cluster, now leased to this scheduler; or None."""
        now = utc_now(self._clock)
        until = now + self._lease
        async with self._db.write() as session:
            candidates = list(
                await session.execute(
                    select(JobWork.id, JobWork.job_id)
                    .join(Job, Job.id == JobWork.job_id)
                    .where(
                        JobWork.cluster_id == cluster_id,
                        JobWork.state.in_(LIVE_WORK_STATES),
                        or_(JobWork.lease_until.is_(None), JobWork.lease_until < now),
                        Job.is_del == 0,
                        Job.deadline > now,
                    )
                    .order_by(JobWork.id)
                    .limit(CLAIM_CANDIDATES)
                )
            )
            for work_id, job_id in candidates:
                job = await lock_job(session, job_id)
                if await self._take(session, work_id, scheduler_id, now, until):
                    return await self._item(session, job, work_id, now)
        return None

    async def _take(
        self,
        session: AsyncSession,
        work_id: int,
        scheduler_id: int,
        now: datetime,
        until: datetime,
    ) -> bool:
        result = await session.execute(
            update(JobWork)
            .where(
                JobWork.id == work_id,
                JobWork.state.in_(LIVE_WORK_STATES),
                or_(JobWork.lease_until.is_(None), JobWork.lease_until < now),
            )
            .values(
                owner=scheduler_id,
                lease_until=until,
                state=WorkState.RUNNING.value,
                attempts=JobWork.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def _item(self, session: AsyncSession, job: Job, work_id: int, now: datetime) -> WorkItem:
        work = await session.get(JobWork, work_id, populate_existing=True)
        assert work is not None
        if job.started_at is None:
            job.started_at = now
            job.updated_at = now
        logger.info(
            "work claimed",
            extra={
                "work_id": work_id,
                "job_id": job.id,
                "scheduler_id": work.owner,
                "attempt": work.attempts,
            },
        )
        return WorkItem(
            work_id=work_id,
            job_id=job.id,
            cluster_id=work.cluster_id,
            args=PreheatArgs.model_validate(job.spec),
            lease_seconds=self.lease_seconds,
        )

    async def _held(
        self, session: AsyncSession, work_id: int, scheduler_id: int | None
    ) -> JobWork | None:
        """The work, locked after its job; None when it already ended. Raises when another
        scheduler holds it."""
        job_id = await session.scalar(select(JobWork.job_id).where(JobWork.id == work_id))
        if job_id is None:
            raise WorkNotFound(work_id)
        await lock_job(session, job_id)
        work = await session.get(JobWork, work_id, with_for_update=True, populate_existing=True)
        assert work is not None
        if not WorkState(work.state).is_live:
            return None
        if scheduler_id is not None and work.owner != scheduler_id:
            raise LeaseLost(f"work {work_id} is held by another scheduler now")
        return work

    async def progress(
        self, work_id: int, message: WorkProgress, *, scheduler_id: int | None = None
    ) -> WorkLease:
        """Renew the lease and store the blobs; ``cancelled`` when the work ended meanwhile
        (its job was deleted or ran past its deadline): stop."""
        now = utc_now(self._clock)
        async with self._db.write() as session:
            work = await self._held(session, work_id, scheduler_id)
            if work is None:
                return WorkLease(lease_seconds=0, cancelled=True)
            work.lease_until = now + self._lease
            work.blobs = merge_blobs(work.blobs, message.blobs)
            work.updated_at = now
        return WorkLease(lease_seconds=self.lease_seconds)

    async def finish(
        self, work_id: int, message: WorkResult, *, scheduler_id: int | None = None
    ) -> JobState | None:
        """Write the work's terminal state once (``WorkEnded`` if it already has one); returns
        the state its job reached by it, if any."""
        task = asyncio.create_task(self._finish(work_id, message, scheduler_id))
        self._finishing.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[JobState | None]) -> None:
        self._finishing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # retrieved here too, so a caller that went away does not leave it unseen
            logger.debug("work result not written", extra={"error": str(task.exception())})

    async def _finish(
        self, work_id: int, message: WorkResult, scheduler_id: int | None
    ) -> JobState | None:
        now = utc_now(self._clock)
        state = WorkState.SUCCESS if message.success else WorkState.FAILURE
        async with self._db.write() as session:
            work = await self._held(session, work_id, scheduler_id)
            if work is None:
                raise WorkEnded(f"work {work_id} already ended")
            work.state = state.value
            work.error = "" if message.success else (message.error or "failed")
            work.blobs = merge_blobs(work.blobs, message.blobs)
            work.lease_until = None
            work.finished_at = now
            work.updated_at = now
            await session.flush()
            job_id = work.job_id
            settled = await settle_job(session, job_id, now)
        logger.info(
            "work finished",
            extra={"work_id": work_id, "job_id": job_id, "state": state.value},
        )
        return settled

    async def expire_overdue(self) -> list[int]:
        """Fail the live work of jobs past their deadline ("timeout"), whoever holds it;
        returns the IDs of the jobs touched."""
        now = utc_now(self._clock)
        async with self._db.write() as session:
            job_ids = list(
                await session.scalars(
                    select(JobWork.job_id)
                    .join(Job, Job.id == JobWork.job_id)
                    .where(JobWork.state.in_(LIVE_WORK_STATES), Job.deadline <= now)
                    .distinct()
                    .order_by(JobWork.job_id)
                )
            )
            for job_id in job_ids:
                job = await lock_job(session, job_id)
                limit = (job.deadline - job.created_at).total_seconds()
                await session.execute(
                    update(JobWork)
                    .where(JobWork.job_id == job_id, JobWork.state.in_(LIVE_WORK_STATES))
                    .values(
                        state=WorkState.FAILURE.value,
                        error=f"timeout: not finished within {limit:g} s",
                        lease_until=None,
                        finished_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                await settle_job(session, job_id, now)
        for job_id in job_ids:
            logger.warning("job timed out", extra={"job_id": job_id})
        return job_ids
