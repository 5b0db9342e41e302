"""Wall-clock time for the manager, injected: leases, deadlines, keepalives and token expiry
are stored, so they are read from a clock of Unix seconds that tests replace."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]

system_clock: Clock = time.time


def utc_now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def rfc3339(moment: datetime | None) -> str | None:
    """``2026-11-26T12:22:34Z``, as the Open API shows times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
