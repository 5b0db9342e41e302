"""Drop hosts that stopped sending keepalives, with their peers, so nobody is sent to them.

A sweep is synchronous: it asks the state which hosts have been silent for longer than
``hostTTL`` by the injected clock, and removes them. The janitor owns the loop that sweeps a few
times per TTL, so a silent host is gone at most a third of a TTL after it expired (the parent
filter already skips it from the moment it expires).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.state import SchedulerState

logger = logging.getLogger(__name__)

SWEEPS_PER_TTL = 3
MIN_INTERVAL = 0.05  # seconds


def sweep_interval(host_ttl: float) -> float:
    return max(MIN_INTERVAL, host_ttl / SWEEPS_PER_TTL)


class HostJanitor:
    """Forgets silent hosts of one scheduler."""

    def __init__(
        self,
        state: SchedulerState,
        metrics: SchedulerMetrics,
        *,
        host_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._metrics = metrics
        self._host_ttl = host_ttl
        self._clock = clock

    @asynccontextmanager
    async def running(self) -> AsyncIterator[HostJanitor]:
        """Sweep every ``sweep_interval(host_ttl)`` seconds until the block exits."""
        loop_task = asyncio.create_task(self._loop(), name="host janitor")
        try:
            yield self
        finally:
            loop_task.cancel()
            await asyncio.wait([loop_task])

    def sweep(self) -> list[str]:
        """One pass; returns the IDs of the hosts dropped."""
        now = self._clock()
        dropped = self._state.expired_hosts(now, self._host_ttl)
        for host in dropped:
            peers = self._state.remove_host(host.host_id) or []
            self._metrics.hosts_dropped.inc()
            logger.warning(
                "host dropped",
                extra={
                    "host_id": host.host_id,
                    "silent_s": round(now - host.last_seen, 3),
                    "peers": len(peers),
                },
            )
        return [host.host_id for host in dropped]

    async def _loop(self) -> None:
        interval = sweep_interval(self._host_ttl)
        while True:
            await asyncio.sleep(interval)
            try:
                self.sweep()
            except Exception:  # the top of an owned task: log, and sweep again next time
                logger.exception("host sweep failed")
