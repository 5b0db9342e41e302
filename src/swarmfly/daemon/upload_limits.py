"""``upload.concurrentLimit`` and ``upload.rateLimit``: how much this host gives to others; on a
seed peer, also which pieces it gives (:mod:`swarmfly.daemon.first_copies`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from swarmfly.config import UploadConfig
from swarmfly.daemon.first_copies import FirstCopies
from swarmfly.errors import Unavailable
from swarmfly.ratelimit import RateLimiter, limiter_for


class UploadBusy(Unavailable):
    """Every upload slot is taken; the peer should ask another parent."""


class PieceSentRecently(UploadBusy):
    """A seed peer sent this piece moments ago: the peer should take it from another parent."""


class UploadLimits:
    """A bounded number of concurrent piece uploads, and one bandwidth bucket for all of them."""

    def __init__(
        self,
        config: UploadConfig,
        *,
        queue_timeout: float = 5.0,
        first_copies: FirstCopies | None = None,
    ) -> None:
        self.first_copies = first_copies
        self.concurrent_limit = config.concurrent_limit
        self.rate_limiter: RateLimiter | None = limiter_for(config.rate_limit)
        self._slots = asyncio.Semaphore(config.concurrent_limit)
        self._queue_timeout = queue_timeout
        self.active = 0

    @contextmanager
    def first_copy(self, task_id: str, number: int) -> Iterator[None]:
        """Around a piece going out: on a seed peer, raise :class:`PieceSentRecently` when it
        should not send the piece now, and record the copy otherwise."""
        if self.first_copies is None:
            yield
            return
        wait = self.first_copies.refusal(task_id, number)
        if wait > 0:
            raise PieceSentRecently(
                f"piece {number} was sent moments ago; take it from a peer", retry_after=wait
            )
        with self.first_copies.sending(task_id, number):
            yield

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold an upload slot; a peer that waits too long is told to go elsewhere (503)."""
        try:
            async with asyncio.timeout(self._queue_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise UploadBusy("all upload slots are busy") from exc
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._slots.release()
