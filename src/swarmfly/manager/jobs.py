"""Jobs as the Open API sees them: create (one work item per cluster), read, list, delete.

The queue side (claims, progress, results, deadlines) is ``manager/queue.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from swarmfly.manager.arrivals import WorkArrivals
from swarmfly.manager.clock import Clock, system_clock, utc_now
from swarmfly.manager.clusters import clusters_by_id
from swarmfly.manager.database import Database
from swarmfly.manager.errors import JobNotFound
from swarmfly.manager.job_view import job_view
from swarmfly.manager.models import Job, JobWork, SchedulerCluster
from swarmfly.manager.preheat import scrubbed
from swarmfly.manager.work import LIVE_WORK_STATES, JobState, WorkState
from swarmfly.wire.manager import PreheatArgs

logger = logging.getLogger(__name__)


async def _views(session: AsyncSession, jobs: Sequence[Job]) -> list[dict[str, Any]]:
    if not jobs:
        return []
    works = list(
        await session.scalars(
            select(JobWork).where(JobWork.job_id.in_([job.id for job in jobs])).order_by(JobWork.id)
        )
    )
    clusters = await clusters_by_id(session, [work.cluster_id for work in works])
    return [
        job_view(job, [work for work in works if work.job_id == job.id], clusters) for job in jobs
    ]


@dataclass(frozen=True)
class StoredJob:
    """What a job was made from, to make it again: the spec still holds its secrets until no
    work on the job is live (``queue.settle_job`` scrubs them)."""

    type: str
    bio: str
    args: dict[str, Any]  # as shown: secrets redacted
    spec: PreheatArgs
    cluster_ids: list[int]
    timeout: timedelta


class JobStore:
    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = system_clock,
        arrivals: WorkArrivals | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._arrivals = arrivals or WorkArrivals()

    async def create(
        self,
        *,
        job_type: str,
        bio: str,
        spec: PreheatArgs,
        shown_args: dict[str, Any],
        cluster_ids: Sequence[int],
        user_id: int | None,
    ) -> dict[str, Any]:
        """A PENDING job with one work item per cluster, as one transaction."""
        now = utc_now(self._clock)
        deadline = datetime.fromtimestamp(spec.deadline, UTC)
        async with self._db.write() as session:
            job = Job(
                task_id=f"group_{uuid.uuid4()}",
                bio=bio,
                type=job_type,
                state=JobState.PENDING.value,
                args=shown_args,
                spec=spec.model_dump(mode="json"),
                deadline=deadline,
                user_id=user_id,
                created_at=now,
                updated_at=now,
            )
            session.add(job)
            await session.flush()
            for cluster_id in cluster_ids:
                session.add(
                    JobWork(
                        job_id=job.id,
                        cluster_id=cluster_id,
                        task_uuid=f"task_{uuid.uuid4()}",
                        state=WorkState.PENDING.value,
                        blobs=[],
                        created_at=now,
                        updated_at=now,
                    )
                )
            await session.flush()
            [view] = await _views(session, [job])
        self._arrivals.notify(cluster_ids)  # committed: a waiting claim can take it now
        logger.info(
            "job created",
            extra={"job_id": job.id, "type": job_type, "clusters": ",".join(map(str, cluster_ids))},
        )
        return view

    async def get(self, job_id: int) -> dict[str, Any]:
        """One job's view, read in one statement: Harbor polls this until the job ends, so
        it is the manager's busiest query (three round trips to the database cost twice the
        time of one)."""
        async with self._db.read(one_statement=True) as session:
            rows = list(
                await session.execute(
                    select(Job, JobWork, SchedulerCluster)
                    .outerjoin(JobWork, JobWork.job_id == Job.id)
                    .outerjoin(SchedulerCluster, SchedulerCluster.id == JobWork.cluster_id)
                    .where(Job.id == job_id, Job.is_del == 0)
                    .order_by(JobWork.id)
                )
            )
        if not rows:
            raise JobNotFound(job_id)
        works = [work for _, work, _ in rows if work is not None]
        clusters = {cluster.id: cluster for _, _, cluster in rows if cluster is not None}
        return job_view(rows[0][0], works, clusters)

    async def stored(self, job_id: int) -> StoredJob:
        async with self._db.read() as session:
            job = await session.get(Job, job_id)
            if job is None or job.is_del:
                raise JobNotFound(job_id)
            cluster_ids = list(
                await session.scalars(
                    select(JobWork.cluster_id).where(JobWork.job_id == job_id).order_by(JobWork.id)
                )
            )
            return StoredJob(
                type=job.type,
                bio=job.bio,
                args=dict(job.args),
                spec=PreheatArgs.model_validate(job.spec),
                cluster_ids=cluster_ids,
                timeout=job.deadline - job.created_at,
            )

    async def page(
        self, page: int, per_page: int, *, job_type: str | None, state: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of jobs, newest first, and how many match in all."""
        where = [Job.is_del == 0]
        if job_type:
            where.append(Job.type == job_type)
        if state:
            where.append(Job.state == state)
        async with self._db.read() as session:
            total = await session.scalar(select(func.count()).select_from(Job).where(*where))
            jobs = list(
                await session.scalars(
                    select(Job)
                    .where(*where)
                    .order_by(Job.id.desc())
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                )
            )
            return await _views(session, jobs), int(total or 0)

    async def delete(self, job_id: int) -> None:
        """Mark the job deleted and cancel its live work: its scheduler's next progress call
        is answered ``cancelled``. The job's secrets are scrubbed."""
        now = utc_now(self._clock)
        async with self._db.write() as session:
            job = await session.get(Job, job_id, with_for_update=True)
            if job is None or job.is_del:
                raise JobNotFound(job_id)
            job.is_del = 1
            job.updated_at = now
            job.spec = scrubbed(PreheatArgs.model_validate(job.spec)).model_dump(mode="json")
            if job.state == JobState.PENDING:
                job.state = JobState.FAILURE.value
                job.error = "deleted"
            await session.execute(
                update(JobWork)
                .where(JobWork.job_id == job_id, JobWork.state.in_(LIVE_WORK_STATES))
                .values(
                    state=WorkState.CANCELLED.value,
                    error="the job was deleted",
                    lease_until=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
        logger.info("job deleted", extra={"job_id": job_id})
