"""A token bucket for bandwidth limits (``download.rateLimit``, ``upload.rateLimit``).

One bucket is shared by every transfer it limits, so the limit holds for the daemon as a
whole, not per connection. The clock and the sleep are injected so tests can drive time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Allow ``rate`` bytes per second on average, with bursts of up to ``burst`` bytes."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no limiter for 'unlimited'")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, 1024 * 1024))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, amount: int) -> None:
        """Wait until ``amount`` bytes may pass. Callers queue in arrival order."""
        async with self._lock:
            self._refill()
            self._tokens -= amount
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.rate)


async def throttle(limiter: RateLimiter | None, amount: int) -> None:
    """Acquire from ``limiter`` when there is one; "no limiter" means unlimited."""
    if limiter is not None:
        await limiter.acquire(amount)


def limiter_for(rate: int) -> RateLimiter | None:
    """The limiter for a configured rate; 0 means unlimited."""
    return RateLimiter(rate) if rate > 0 else None
