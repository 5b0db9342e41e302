"""Tell the scheduler about finished pieces in batches, so this peer becomes a parent soon
without one request per piece."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from swarmfly import errors
from swarmfly.wire.scheduler import ReportPieces
from swarmfly.wire.scheduler_client import SchedulerClient

logger = logging.getLogger(__name__)

BATCH = 8  # pieces
DELAY = 0.2  # seconds a piece may wait for its batch


class PieceReporter:
    """Collects piece numbers; a batch goes out when full or ``DELAY`` after its first piece."""

    def __init__(self, client: SchedulerClient, peer_id: str) -> None:
        self._client = client
        self._peer_id = peer_id
        self._pending: list[int] = []
        self._layout: tuple[int | None, int | None] = (None, None)
        self._wake = asyncio.Event()
        self._failed = False

    def add(self, number: int, content_length: int | None, piece_length: int) -> None:
        self._pending.append(number)
        self._layout = (content_length, piece_length)
        self._wake.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PieceReporter]:
        task = asyncio.create_task(self._loop(), name=f"report pieces {self._peer_id}")
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.flush()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._pending) < BATCH:
                await asyncio.sleep(DELAY)
            await self.flush()

    async def flush(self) -> None:
        self._wake.clear()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        content_length, piece_length = self._layout
        message = ReportPieces(
            pieces=batch, content_length=content_length, piece_length=piece_length
        )
        try:
            await self._client.report_pieces(self._peer_id, message)
            self._failed = False
        except errors.SwarmflyError as exc:
            self._pending[:0] = batch  # kept for the next batch: the scheduler may be back
            if not self._failed:
                logger.warning(
                    "could not report pieces to the scheduler",
                    extra={"peer_id": self._peer_id, "error": str(exc)},
                )
            self._failed = True
