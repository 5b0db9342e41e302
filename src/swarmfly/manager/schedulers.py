"""Schedulers and their seed peers, as the schedulers report them (``wire/manager.py``).

A scheduler registers when it starts (the same hostname, ip and port get the same ID back) and
sends keepalives with its current seed peers; one silent for ``keepaliveTTL`` is inactive until
it speaks again. The set of clusters with an active scheduler decides where a job that names
no cluster goes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from swarmfly.errors import InvalidInput
from swarmfly.manager.clock import Clock, system_clock, utc_now
from swarmfly.manager.database import Database
from swarmfly.manager.errors import SchedulerNotFound
from swarmfly.manager.models import Scheduler, SchedulerCluster, SeedPeer
from swarmfly.wire.manager import (
    RegisterScheduler,
    SchedulerKeepAlive,
    SchedulerRegistered,
    SeedPeerInfo,
)

logger = logging.getLogger(__name__)

ACTIVE = "active"
INACTIVE = "inactive"


async def _replace_seed_peers(
    session: AsyncSession, scheduler: Scheduler, seed_peers: list[SeedPeerInfo], now: datetime
) -> None:
    await session.execute(delete(SeedPeer).where(SeedPeer.scheduler_id == scheduler.id))
    unique = {peer.host_id: peer for peer in seed_peers}
    for peer in unique.values():
        session.add(
            SeedPeer(
                scheduler_id=scheduler.id,
                cluster_id=scheduler.cluster_id,
                host_id=peer.host_id,
                hostname=peer.hostname,
                ip=peer.ip,
                control_port=peer.control_port,
                upload_port=peer.upload_port,
                last_keepalive_at=now,
                created_at=now,
                updated_at=now,
            )
        )


class SchedulerRegistry:
    def __init__(
        self,
        database: Database,
        *,
        keepalive_interval: timedelta,
        keepalive_ttl: timedelta,
        clock: Clock = system_clock,
    ) -> None:
        self._db = database
        self._interval = keepalive_interval
        self._ttl = keepalive_ttl
        self._clock = clock

    async def register(self, message: RegisterScheduler) -> SchedulerRegistered:
        now = utc_now(self._clock)
        async with self._db.write() as session:
            if await session.get(SchedulerCluster, message.cluster_id) is None:
                # 400, not 404: a 404 tells a scheduler to register again, which cannot help
                raise InvalidInput(f"cluster_id: no scheduler cluster {message.cluster_id}")
            scheduler = await session.scalar(
                select(Scheduler).where(
                    Scheduler.hostname == message.hostname,
                    Scheduler.ip == message.ip,
                    Scheduler.port == message.port,
                )
            )
            if scheduler is None:
                scheduler = Scheduler(
                    hostname=message.hostname, ip=message.ip, port=message.port, created_at=now
                )
                session.add(scheduler)
            scheduler.cluster_id = message.cluster_id
            scheduler.state = ACTIVE
            scheduler.last_keepalive_at = now
            scheduler.updated_at = now
            await session.flush()
            await _replace_seed_peers(session, scheduler, message.seed_peers, now)
            scheduler_id = scheduler.id
        logger.info(
            "scheduler registered",
            extra={
                "scheduler_id": scheduler_id,
                "cluster_id": message.cluster_id,
                "hostname": message.hostname,
                "seed_peers": len(message.seed_peers),
            },
        )
        return SchedulerRegistered(
            scheduler_id=scheduler_id,
            cluster_id=message.cluster_id,
            keepalive_interval=self._interval.total_seconds(),
        )

    async def keepalive(self, scheduler_id: int, message: SchedulerKeepAlive) -> None:
        """Raises ``SchedulerNotFound`` for an ID the manager never gave: register again."""
        now = utc_now(self._clock)
        async with self._db.write() as session:
            scheduler = await session.get(Scheduler, scheduler_id)
            if scheduler is None:
                raise SchedulerNotFound(scheduler_id)
            if scheduler.state != ACTIVE:
                logger.info("scheduler active again", extra={"scheduler_id": scheduler_id})
            scheduler.state = ACTIVE
            scheduler.last_keepalive_at = now
            scheduler.updated_at = now
            await _replace_seed_peers(session, scheduler, message.seed_peers, now)

    async def check(self, scheduler_id: int, cluster_id: int) -> None:
        """Raise ``SchedulerNotFound`` unless the scheduler is registered in ``cluster_id``."""
        async with self._db.read() as session:
            scheduler = await session.get(Scheduler, scheduler_id)
        if scheduler is None or scheduler.cluster_id != cluster_id:
            raise SchedulerNotFound(scheduler_id)

    async def active_cluster_ids(self) -> list[int]:
        """Clusters with at least one scheduler heard from within ``keepaliveTTL``."""
        since = utc_now(self._clock) - self._ttl
        async with self._db.read() as session:
            ids = await session.scalars(
                select(Scheduler.cluster_id)
                .where(Scheduler.state == ACTIVE, Scheduler.last_keepalive_at >= since)
                .distinct()
            )
            return sorted(ids)

    async def mark_silent(self) -> list[int]:
        """Mark schedulers silent past ``keepaliveTTL`` inactive; returns their IDs."""
        since = utc_now(self._clock) - self._ttl
        async with self._db.write() as session:
            ids = list(
                await session.scalars(
                    update(Scheduler)
                    .where(Scheduler.state == ACTIVE, Scheduler.last_keepalive_at < since)
                    .values(state=INACTIVE)
                    .returning(Scheduler.id)
                )
            )
        for scheduler_id in ids:
            logger.warning("scheduler silent, now inactive", extra={"scheduler_id": scheduler_id})
        return ids
