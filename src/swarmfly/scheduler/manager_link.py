"""Keep this scheduler registered with the manager, with the seed peers it knows.

The manager hands out preheat work per cluster, so it must know which schedulers serve which
cluster; the seed peers are listed so operators see them. A manager that restarted answers a
keepalive with 404 and the scheduler registers again; one that cannot be reached is logged once
per outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from swarmfly import errors
from swarmfly.wire.manager import (
    RegisterScheduler,
    SchedulerKeepAlive,
    SchedulerRegistered,
    SeedPeerInfo,
)
from swarmfly.wire.manager_client import ManagerClient

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 2.0


class ManagerLink:
    """Owns the registration and keepalive loop; :meth:`registration` waits for the first."""

    def __init__(
        self,
        client: ManagerClient,
        registration: RegisterScheduler,
        seed_peers: Callable[[], list[SeedPeerInfo]],
    ) -> None:
        self._client = client
        self._registration = registration
        self._seed_peers = seed_peers
        self._registered: SchedulerRegistered | None = None
        self._changed = asyncio.Event()
        self._reachable: bool | None = None

    async def registration(self) -> SchedulerRegistered:
        """This scheduler's ID and cluster, once the manager has answered."""
        while self._registered is None:
            self._changed.clear()
            await self._changed.wait()
        return self._registered

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ManagerLink]:
        task = asyncio.create_task(self._loop(), name="manager keepalive")
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        interval = RETRY_INTERVAL
        while True:
            try:
                if self._registered is None:
                    message = self._registration.model_copy(
                        update={"seed_peers": self._seed_peers()}
                    )
                    self._registered = await self._client.register(message)
                    interval = self._registered.keepalive_interval
                    self._changed.set()
                else:
                    alive = SchedulerKeepAlive(seed_peers=self._seed_peers())
                    await self._client.keepalive(self._registered.scheduler_id, alive)
                self._mark(True)
            except errors.NotFound:
                self._registered = None
                continue
            except errors.SwarmflyError as exc:
                self._mark(False, str(exc))
                interval = RETRY_INTERVAL
            await asyncio.sleep(interval)

    def _mark(self, reachable: bool, error: str = "") -> None:
        was, self._reachable = self._reachable, reachable
        if reachable and was is not True:
            logger.info(
                "registered with the manager",
                extra={"scheduler_id": self._registered and self._registered.scheduler_id},
            )
        elif not reachable and was is not False:
            logger.warning(
                "manager unreachable; no preheat work until it returns", extra={"error": error}
            )
