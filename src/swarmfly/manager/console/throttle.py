"""Slowing down password guessing at the console's sign-in.

Failures are counted per username and per client address. Each key has some free failures
(an address four times as many as a username: several people may share one); the last of them
locks the key out for ``lockout``, doubled with each further failure up to ``max_lockout``. While a
key is locked out no password is checked at all, right or wrong. A successful sign-in clears
the username's count (not the address's). Counts are forgotten a while after the last
failure, and at most ``max_keys`` are kept (the stalest go first), so guessing with random
usernames cannot grow memory without bound. Plain bookkeeping on an injected clock; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from swarmfly.manager.clock import Clock

#: An address may fail this many times more than one username before it is locked out.
ADDRESS_FACTOR = 4
MAX_USERNAME_KEY = 256


@dataclass
class _Failures:
    count: int
    last: float
    locked_until: float


class SignInThrottle:
    def __init__(
        self,
        *,
        free_failures: int,
        lockout: timedelta,
        max_lockout: timedelta,
        clock: Clock,
        max_keys: int = 10_000,
    ) -> None:
        self._free = free_failures
        self._lockout = lockout.total_seconds()
        self._max_lockout = max_lockout.total_seconds()
        self._forget_after = max(self._max_lockout * 2, 3600.0)
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], _Failures] = {}

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", username.strip().lower()[:MAX_USERNAME_KEY]), ("addr", address)

    def _free_for(self, key: tuple[str, str]) -> int:
        return self._free * ADDRESS_FACTOR if key[0] == "addr" else self._free

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address (0: now)."""
        now = self._clock()
        waits = [
            entry.locked_until - now
            for key in self._keys(username, address)
            if (entry := self._failures.get(key)) is not None
        ]
        return max([0.0, *waits])

    def failed(self, username: str, address: str) -> float:
        """Count a wrong password; returns the lockout it caused (0: none yet)."""
        now = self._clock()
        self._forget(now)
        for key in self._keys(username, address):
            entry = self._failures.pop(key, None) or _Failures(0, now, now)
            entry.count += 1
            entry.last = now
            over = entry.count - self._free_for(key) + 1  # the last free failure locks
            if over > 0:
                delay = min(self._lockout * 2 ** min(over - 1, 30), self._max_lockout)
                entry.locked_until = max(entry.locked_until, now + delay)
            self._failures[key] = entry  # re-inserted: the dict stays ordered by last failure
        return self.retry_after(username, address)

    def succeeded(self, username: str, address: str) -> None:
        user_key, _ = self._keys(username, address)
        self._failures.pop(user_key, None)

    def _forget(self, now: float) -> None:
        stale = [
            key
            for key, entry in self._failures.items()
            if now - entry.last > self._forget_after and entry.locked_until <= now
        ]
        for key in stale:
            del self._failures[key]
        while self._failures and len(self._failures) > self._max_keys - 2:  # room for two
            del self._failures[next(iter(self._failures))]
