"""The typed client schedulers use for the manager's internal API (``wire/manager.py``).

Every call has its own deadline. Failures come back as our error tree, like the other clients
in ``wire/``: a deadline is ``errors.Timeout``, a connection that cannot be made or is cut is
``errors.Unavailable``, and an error status is the category it stands for:

- ``errors.NotFound`` from ``keepalive`` or ``claim``: the manager does not know this scheduler
  (in this cluster): register again. From ``progress``/``result``: no such work.
- ``errors.Conflict`` from ``progress``: the lease lapsed and another scheduler claimed the work
  since: stop working on it. From ``result``: the work already ended (a result was written, its
  deadline passed, or its job was deleted): nothing more to report.
- ``errors.InvalidInput``: a message the manager refused (a bug on the sender's side).
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlencode

import aiohttp

from swarmfly.wire.exchange import exchange, parse_answer
from swarmfly.wire.manager import (
    CLAIM_PATH,
    SCHEDULER_ID_PARAM,
    SCHEDULER_KEEPALIVE_PATH,
    SCHEDULERS_PATH,
    WORK_PROGRESS_PATH,
    WORK_RESULT_PATH,
    ClaimWork,
    Message,
    RegisterScheduler,
    SchedulerKeepAlive,
    SchedulerRegistered,
    WorkClaim,
    WorkItem,
    WorkLease,
    WorkProgress,
    WorkResult,
)

M = TypeVar("M", bound=Message)

#: Seconds for one call to the manager.
DEFAULT_TIMEOUT = 10.0
WHO = "the manager"


class ManagerClient:
    """Talks to one manager. ``base_url`` is ``http://host:port`` (a bare ``host:port`` too)."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._session = session
        url = base_url if "://" in base_url else f"http://{base_url}"
        self.base_url = url.rstrip("/")
        self._timeout = timeout

    async def register(self, message: RegisterScheduler) -> SchedulerRegistered:
        """Register this scheduler (the same hostname, ip and port get the same ID back)."""
        return await self._call(SCHEDULERS_PATH, message, SchedulerRegistered)

    async def keepalive(self, scheduler_id: int, message: SchedulerKeepAlive) -> None:
        """Raises ``errors.NotFound`` when the manager does not know the scheduler."""
        path = SCHEDULER_KEEPALIVE_PATH.format(scheduler_id=scheduler_id)
        await self._post(path, message)

    async def claim(self, message: ClaimWork) -> WorkItem | None:
        """At most one work item, leased to this scheduler for ``lease_seconds``; the manager
        may hold the answer ``message.wait_seconds`` for work to arrive."""
        answer = await self._call(
            CLAIM_PATH, message, WorkClaim, time_limit=self._timeout + message.wait_seconds
        )
        return answer.work

    async def progress(
        self, work_id: int, message: WorkProgress, *, scheduler_id: int
    ) -> WorkLease:
        """Renew the lease and report blobs; ``cancelled`` in the answer means stop."""
        path = self._as(WORK_PROGRESS_PATH.format(work_id=work_id), scheduler_id)
        return await self._call(path, message, WorkLease)

    async def result(self, work_id: int, message: WorkResult, *, scheduler_id: int) -> None:
        """Write the work's terminal state (once: ``errors.Conflict`` if it already ended)."""
        await self._post(self._as(WORK_RESULT_PATH.format(work_id=work_id), scheduler_id), message)

    @staticmethod
    def _as(path: str, scheduler_id: int) -> str:
        return f"{path}?{urlencode({SCHEDULER_ID_PARAM: scheduler_id})}"

    async def _post(self, path: str, body: Message, *, time_limit: float | None = None) -> bytes:
        url = f"{self.base_url}{path}"
        limit = self._timeout if time_limit is None else time_limit
        return await exchange(self._session, "POST", url, body, time_limit=limit, who=WHO)

    async def _call(
        self, path: str, body: Message, answer: type[M], *, time_limit: float | None = None
    ) -> M:
        raw = await self._post(path, body, time_limit=time_limit)
        return parse_answer(answer, raw, who=WHO, url=f"{self.base_url}{path}")
