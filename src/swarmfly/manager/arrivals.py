"""Wake a scheduler waiting in a claim when work for its cluster is created.

A claim may wait (``ClaimWork.wait_seconds``) instead of coming back empty, so that a preheat
starts the moment it is submitted rather than at the scheduler's next poll (Harbor users see
it start at once). The signal is in-process only: with several managers on one database, work
created on another one is found when the wait ends, as it would be by polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class WorkArrivals:
    """One event per cluster, replaced each time it fires (so a waiter never sees a stale set)."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def event(self, cluster_id: int) -> asyncio.Event:
        """The event the next work for ``cluster_id`` sets; take it *before* looking for work,
        so that work created in between is not missed."""
        event = self._events.get(cluster_id)
        if event is None:
            event = self._events[cluster_id] = asyncio.Event()
        return event

    def notify(self, cluster_ids: Iterable[int]) -> None:
        """Work was created (and committed) for these clusters."""
        for cluster_id in cluster_ids:
            event = self._events.pop(cluster_id, None)
            if event is not None:
                event.set()
