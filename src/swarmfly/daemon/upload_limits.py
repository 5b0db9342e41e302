"""``upload.concurrentLimit`` and ``upload.rateLimit``: how much this host gives to others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from swarmfly.config import UploadConfig
from swarmfly.errors import Unavailable
from swarmfly.ratelimit import RateLimiter, limiter_for


class UploadBusy(Unavailable):
    """Every upload slot is taken; the peer should ask another parent."""


class UploadLimits:
    """A bounded number of concurrent piece uploads, and one bandwidth bucket for all of them."""

    def __init__(self, config: UploadConfig, *, queue_timeout: float = 5.0) -> None:
        self.concurrent_limit = config.concurrent_limit
        self.rate_limiter: RateLimiter | None = limiter_for(config.rate_limit)
        self._slots = asyncio.Semaphore(config.concurrent_limit)
        self._queue_timeout = queue_timeout
        self.active = 0

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
