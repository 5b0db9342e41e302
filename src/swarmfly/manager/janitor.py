"""Fail jobs past their deadline, and mark silent schedulers inactive.

A sweep is one pass by the injected clock (tests call it directly); the janitor owns the loop
that sweeps every ``jobs.sweepInterval`` (at most a third of ``keepaliveTTL``), so a job whose
deadline passed is FAILURE ("timeout") soon after, whether or not a scheduler holds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from swarmfly.manager.metrics import ManagerMetrics
from swarmfly.manager.queue import JobQueue
from swarmfly.manager.schedulers import SchedulerRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    timed_out_jobs: list[int]
    inactive_schedulers: list[int]


class JobJanitor:
    def __init__(
        self,
        queue: JobQueue,
        schedulers: SchedulerRegistry,
        metrics: ManagerMetrics,
        *,
        interval: float,
    ) -> None:
        self._queue = queue
        self._schedulers = schedulers
        self._metrics = metrics
        self._interval = interval

    @asynccontextmanager
    async def running(self) -> AsyncIterator[JobJanitor]:
        loop_task = asyncio.create_task(self._loop(), name="job janitor")
        try:
            yield self
        finally:
            loop_task.cancel()
            await asyncio.wait([loop_task])

    async def sweep(self) -> Swept:
        timed_out = await self._queue.expire_overdue()
        self._metrics.jobs_timed_out.inc(len(timed_out))
        silent = await self._schedulers.mark_silent()
        self._metrics.schedulers_inactive.inc(len(silent))
        return Swept(timed_out, silent)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:  # the top of an owned task: log, and sweep again next time
                logger.exception("janitor sweep failed")
