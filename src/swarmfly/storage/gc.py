"""Garbage collection: evict tasks nobody used for ``gc.policy.taskTTL``, and least recently
used tasks while the disk is above its high watermark, down to the low one.

The choice is a pure function (:func:`plan_eviction`) so it can be tested from a table; the
collector around it only reads the state and deletes. A task in use (``store.use``: being read,
or being written) is never chosen, and the store refuses to delete one that became busy since.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from swarmfly.config import GCConfig, GCPolicy
from swarmfly.storage.errors import StoreUnavailable, TaskInUse, TaskNotFound
from swarmfly.storage.records import TaskRecord
from swarmfly.storage.store import PieceStore

logger = logging.getLogger(__name__)

DiskUsage = Callable[[Path], tuple[int, int]]


def filesystem_usage(path: Path) -> tuple[int, int]:
    """Total and used bytes of the filesystem holding ``path``."""
    usage = shutil.disk_usage(path)
    return usage.total, usage.used


def plan_eviction(
    tasks: Sequence[TaskRecord],
    *,
    now: float,
    policy: GCPolicy,
    total: int,
    used: int,
    in_use: Callable[[str], bool],
) -> list[tuple[TaskRecord, str]]:
    """Which tasks to evict, and why (``"ttl"`` or ``"disk"``), in the order to evict them.

    First every idle task older than the TTL; then, if the disk is above the high watermark,
    the least recently used of the rest until the projected usage is at the low watermark.
    """
    ttl = policy.task_ttl.total_seconds()
    idle = sorted((task for task in tasks if not in_use(task.id)), key=lambda t: t.last_access_at)
    plan = [(task, "ttl") for task in idle if now - task.last_access_at > ttl]
    projected = used - sum(task.size_on_disk for task, _ in plan)
    if total <= 0 or used * 100 / total <= policy.disk_high_threshold_percent:
        return plan
    low = total * policy.disk_low_threshold_percent / 100
    expired = {task.id for task, _ in plan}
    for task in idle:
        if projected <= low:
            break
        if task.id not in expired and task.size_on_disk > 0:
            plan.append((task, "disk"))
            projected -= task.size_on_disk
    return plan


class GarbageCollector:
    """Evicts tasks from one store by TTL and disk watermarks."""

    def __init__(
        self,
        store: PieceStore,
        config: GCConfig,
        *,
        clock: Callable[[], float] = time.time,
        disk_usage: DiskUsage = filesystem_usage,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._disk_usage = disk_usage

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        store: PieceStore,
        config: GCConfig,
        *,
        clock: Callable[[], float] = time.time,
        disk_usage: DiskUsage = filesystem_usage,
    ) -> AsyncIterator[GarbageCollector]:
        """Run :meth:`run_once` every ``config.interval`` until the block exits."""
        collector = cls(store, config, clock=clock, disk_usage=disk_usage)
        loop_task = asyncio.create_task(collector._loop(), name="garbage collector")
        try:
            yield collector
        finally:
            loop_task.cancel()
            await asyncio.wait([loop_task])

    async def _loop(self) -> None:
        interval = self._config.interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.run_once()
            except Exception:
                logger.exception("garbage collection failed")

    async def run_once(self) -> list[str]:
        """One pass; returns the IDs of the tasks evicted."""
        tasks = await self._store.tasks()
        total, used = await self._measure()
        plan = plan_eviction(
            tasks,
            now=self._clock(),
            policy=self._config.policy,
            total=total,
            used=used,
            in_use=self._store.in_use,
        )
        return [task.id for task, reason in plan if await self._evict(task, reason)]

    async def _measure(self) -> tuple[int, int]:
        try:
            return await asyncio.to_thread(self._disk_usage, self._store.root)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot measure the disk under {self._store.root}: {exc}"
            ) from exc

    async def _evict(self, task: TaskRecord, reason: str) -> bool:
        try:
            await self._store.delete_task(task.id)
        except (TaskInUse, TaskNotFound):
            return False  # picked up since the plan was made, or deleted by someone else
        logger.info(
            "task evicted", extra={"task_id": task.id, "bytes": task.size_on_disk, "reason": reason}
        )
        return True
