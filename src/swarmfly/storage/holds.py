"""Who is holding a task right now: readers and writers (so GC leaves it alone), and one
lifecycle step at a time (create, resize, fail, delete) so that a delete cannot interleave
with a create of the same task.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class TaskHolds:
    """In-use counters and per-task lifecycle locks for one store (one event loop)."""

    def __init__(self) -> None:
        self._users: Counter[str] = Counter()
        # A lock exists only while some coroutine holds or awaits it; no cleanup needed.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextmanager
    def use(self, task_id: str) -> Iterator[None]:
        self._users[task_id] += 1
        try:
            yield
        finally:
            self._users[task_id] -= 1
            if not self._users[task_id]:
                del self._users[task_id]

    def in_use(self, task_id: str) -> bool:
        return self._users[task_id] > 0

    def lifecycle(self, task_id: str) -> asyncio.Lock:
        """The lock that serialises create, resize, fail and delete of ``task_id``."""
        lock = self._locks.get(task_id)
        if lock is None:
            lock = self._locks[task_id] = asyncio.Lock()
        return lock
