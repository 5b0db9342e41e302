"""Keep this host known to every scheduler, and say which scheduler owns a task.

The announcer registers the host with each scheduler in ``scheduler.addrs`` and sends
keepalives with the piece server's load; a scheduler that forgot the host (it restarted)
answers 404 and the host registers again. A scheduler that cannot be reached is logged once
per outage, not once per attempt. Tasks are spread over schedulers by consistent hashing of
the task ID, so every daemon asks the same scheduler about the same task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from swarmfly import errors
from swarmfly.hashring import HashRing
from swarmfly.wire.scheduler import HostInfo, HostLoad, KeepAlive, RegisterHost
from swarmfly.wire.scheduler_client import SchedulerClient

logger = logging.getLogger(__name__)

DEFAULT_KEEPALIVE = 5.0
REGISTER_WAIT = 5.0


class Announcer:
    """Owns one keepalive loop per scheduler."""

    def __init__(self, clients: dict[str, SchedulerClient], load: Callable[[], HostLoad]) -> None:
        self._clients = clients
        self._host: HostInfo | None = None
        self._load = load
        self._ring = HashRing(clients)
        self._reachable: dict[str, bool | None] = dict.fromkeys(clients)
        self._registered: dict[str, asyncio.Event] = {addr: asyncio.Event() for addr in clients}

    @property
    def host(self) -> HostInfo:
        """This host as the schedulers know it (set once the daemon's ports are bound)."""
        if self._host is None:
            raise RuntimeError("the announcer is not running")
        return self._host

    def client_for(self, task_id: str) -> tuple[str, SchedulerClient] | None:
        """The scheduler that owns ``task_id``; None when no scheduler is configured."""
        addr = self._ring.owner(task_id)
        return None if addr is None else (addr, self._clients[addr])

    def is_reachable(self, addr: str) -> bool:
        return self._reachable.get(addr) is True

    async def settled(self, addr: str, limit: float = REGISTER_WAIT) -> bool:
        """Whether the host is registered with ``addr``, waiting (up to ``limit``) for the
        first attempt when it is still under way: a task announced in the daemon's first
        moments must not go back to source just because registration had not finished."""
        if self._reachable.get(addr) is None:
            try:
                async with asyncio.timeout(limit):
                    await self._registered[addr].wait()
            except TimeoutError:
                return False
        return self.is_reachable(addr)

    @asynccontextmanager
    async def running(self, host: HostInfo) -> AsyncIterator[Announcer]:
        self._host = host
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._keep_alive(addr, client), name=f"keepalive {addr}")
                for addr, client in self._clients.items()
            ]
            try:
                yield self
            finally:
                for task in tasks:
                    task.cancel()
                await self._leave()

    async def _leave(self) -> None:
        for addr, client in self._clients.items():
            if self._reachable[addr] is True:
                try:
                    await client.leave_host(self.host.host_id)
                except errors.SwarmflyError:
                    pass  # the scheduler drops silent hosts anyway

    async def _keep_alive(self, addr: str, client: SchedulerClient) -> None:
        interval = DEFAULT_KEEPALIVE
        registered = False
        while True:
            try:
                if not registered:
                    answer = await client.register_host(RegisterHost(host=self.host))
                    interval = answer.keepalive_interval
                    registered = True
                    self._registered[addr].set()
                else:
                    await client.keepalive(self.host.host_id, KeepAlive(load=self._load()))
                self._mark(addr, True)
            except errors.NotFound:
                registered = False
                continue
            except errors.SwarmflyError as exc:
                registered = False
                self._mark(addr, False, str(exc))
                self._registered[addr].set()  # the first attempt is over, whatever it gave
            await asyncio.sleep(interval)

    def _mark(self, addr: str, reachable: bool, error: str = "") -> None:
        """Log the edges only: one line when a scheduler goes away, one when it is back."""
        was = self._reachable[addr]
        self._reachable[addr] = reachable
        if reachable and was is not True:
            logger.info("registered with scheduler", extra={"scheduler": addr})
        elif not reachable and was is not False:
            logger.warning(
                "scheduler unreachable; its tasks go back to source until it returns",
                extra={"scheduler": addr, "error": error},
            )
