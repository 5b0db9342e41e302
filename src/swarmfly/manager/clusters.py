"""Scheduler clusters: the default ``cluster-1`` made on first start, listed and created through
the Open API (scope ``cluster``), and named by jobs (``scheduler_cluster_ids``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from swarmfly.errors import Conflict
from swarmfly.manager.clock import Clock, rfc3339, system_clock, utc_now
from swarmfly.manager.database import Database
from swarmfly.manager.errors import ClusterNotFound
from swarmfly.manager.models import SchedulerCluster

logger = logging.getLogger(__name__)

DEFAULT_CLUSTER_NAME = "cluster-1"


class ClusterConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    candidate_parent_limit: int = Field(default=4, ge=1, le=20)
    filter_parent_limit: int = Field(default=15, ge=1, le=1000)


class ClusterClientConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    load_limit: int = Field(default=200, ge=1, le=10000)


class NewCluster(BaseModel):
    """``POST /oapi/v1/clusters``'s body."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    bio: str = ""
    config: ClusterConfig = Field(default_factory=ClusterConfig)
    client_config: ClusterClientConfig = Field(default_factory=ClusterClientConfig)
    scopes: dict[str, Any] = Field(default_factory=dict)
    is_default: bool = False


def cluster_view(row: SchedulerCluster) -> dict[str, Any]:
    """A cluster as the Open API shows it."""
    return {
        "id": row.id,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "is_del": 0,
        "name": row.name,
        "bio": row.bio,
        "config": row.config,
        "client_config": row.client_config,
        "scopes": row.scopes,
        "is_default": row.is_default,
    }


class ClusterStore:
    def __init__(self, database: Database, *, clock: Clock = system_clock) -> None:
        self._db = database
        self._clock = clock

    async def ensure_default(self) -> None:
        """Make ``cluster-1`` when there is no cluster at all."""
        async with self._db.read() as session:
            if await session.scalar(select(SchedulerCluster.id).limit(1)) is not None:
                return
        try:
            await self.create(NewCluster(name=DEFAULT_CLUSTER_NAME, is_default=True))
        except Conflict:  # another manager on the same database made it first
            return

    async def create(self, new: NewCluster) -> dict[str, Any]:
        now = utc_now(self._clock)
        async with self._db.write() as session:
            if new.is_default:
                await session.execute(update(SchedulerCluster).values(is_default=False))
            row = SchedulerCluster(
                name=new.name,
                bio=new.bio,
                config=new.config.model_dump(),
                client_config=new.client_config.model_dump(),
                scopes=new.scopes,
                is_default=new.is_default,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            view = cluster_view(row)
        logger.info("cluster created", extra={"cluster_id": row.id, "cluster": row.name})
        return view

    async def get(self, cluster_id: int) -> dict[str, Any]:
        async with self._db.read() as session:
            row = await session.get(SchedulerCluster, cluster_id)
            if row is None:
                raise ClusterNotFound(cluster_id)
            return cluster_view(row)

    async def page(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        """One page of clusters, oldest first, and how many there are in all."""
        async with self._db.read() as session:
            total = await session.scalar(select(func.count()).select_from(SchedulerCluster))
            rows = await session.scalars(
                select(SchedulerCluster)
                .order_by(SchedulerCluster.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            return [cluster_view(row) for row in rows], int(total or 0)

    async def ids(self) -> list[int]:
        async with self._db.read() as session:
            return list(
                await session.scalars(select(SchedulerCluster.id).order_by(SchedulerCluster.id))
            )

    async def missing(self, cluster_ids: Iterable[int]) -> list[int]:
        """Which of ``cluster_ids`` do not exist."""
        wanted = set(cluster_ids)
        async with self._db.read() as session:
            found = set(
                await session.scalars(
                    select(SchedulerCluster.id).where(SchedulerCluster.id.in_(wanted))
                )
            )
        return sorted(wanted - found)


async def clusters_by_id(
    session: AsyncSession, cluster_ids: Sequence[int]
) -> dict[int, SchedulerCluster]:
    rows = await session.scalars(
        select(SchedulerCluster).where(SchedulerCluster.id.in_(set(cluster_ids)))
    )
    return {row.id: row for row in rows}
