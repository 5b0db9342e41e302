"""When to try a source again, and how long to wait first.

These are decisions, so they are plain functions with no I/O: the client asks
:meth:`RetryPolicy.delay_for` and :func:`is_retryable`, then does the sleeping itself with the
``sleep`` it was given. Randomness and the wall clock (for an HTTP-date ``Retry-After``) are
fields, so a test can pin both.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

from swarmfly.source.errors import SourceStatusError, SourceTimeout, SourceUnavailable

_DELAY_SECONDS = re.compile(r"[0-9]+", re.ASCII)

#: Exponents past this are already far beyond any ``max_delay``; stop before floats overflow.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``attempts`` counts the first try.

    ``jitter`` is a fraction: each computed delay is scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` so that many peers failing together do not retry together.
    A ``Retry-After`` from the source is obeyed as given (no jitter), up to
    ``max_delay * 6``, so one misconfigured origin cannot park a download for an hour.
    """

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.1
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)
    wall_clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try, so it must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("delays must be non-negative and jitter within [0, 1]")

    def delay_for(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first try)."""
        advised = self._retry_after_seconds(retry_after)
        if advised is not None:
            return min(advised, self.max_delay * 6)
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        delay = min(self.max_delay, self.base_delay * self.multiplier**exponent)
        spread = 1 + self.jitter * (2 * self.random() - 1)
        return min(self.max_delay, max(0.0, delay * spread))

    def has_attempts_left(self, attempt: int) -> bool:
        """Whether another try may follow failed attempt number ``attempt``."""
        return attempt < self.attempts

    def _retry_after_seconds(self, value: str | None) -> float | None:
        """``Retry-After`` as seconds from now: delay-seconds or an HTTP-date; None if neither."""
        if value is None:
            return None
        value = value.strip()
        if _DELAY_SECONDS.fullmatch(value):
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": HTTP-dates are always GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - self.wall_clock())


def is_retryable(exc: BaseException) -> bool:
    """Whether the same request might succeed later.

    Connection failures, timeouts, 5xx and 429 may pass; any other status means the request
    itself is wrong (or forbidden, or gone) and repeating it only adds load.
    """
    if isinstance(exc, SourceUnavailable | SourceTimeout):
        return True
    if isinstance(exc, SourceStatusError):
        return exc.status >= 500 or exc.status == 429
    return False


def retry_after_of(exc: BaseException | None) -> str | None:
    """The ``Retry-After`` header an error status came with, if any."""
    if isinstance(exc, SourceStatusError):
        for name, value in exc.headers.items():
            if name.lower() == "retry-after":
                return value
    return None
