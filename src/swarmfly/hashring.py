"""Consistent hashing: which scheduler owns a task, which seed peer fetches it.

Each member is placed at many points on a ring (virtual nodes), so members share keys evenly
and adding or removing one moves only its own share. Every role uses this one ring, so a
daemon and a scheduler given the same members agree on the owner of a task.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

VIRTUAL_NODES = 100


def _point(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class HashRing:
    """An immutable ring over ``members`` (any strings: addresses, host IDs)."""

    def __init__(self, members: Iterable[str], *, virtual_nodes: int = VIRTUAL_NODES) -> None:
        self.members = tuple(sorted(set(members)))
        points = sorted(
            (_point(f"{member}#{index}"), member)
            for member in self.members
            for index in range(virtual_nodes)
        )
        self._keys = [point for point, _ in points]
        self._owners = [member for _, member in points]

    def __len__(self) -> int:
        return len(self.members)

    def owner(self, key: str) -> str | None:
        """The member that owns ``key``; None for an empty ring."""
        if not self._keys:
            return None
        index = bisect.bisect(self._keys, _point(key)) % len(self._keys)
        return self._owners[index]

    def owners(self, key: str, count: int) -> list[str]:
        """Up to ``count`` distinct members in ring order from ``key``: owner, then fallbacks."""
        if not self._keys:
            return []
        found: list[str] = []
        start = bisect.bisect(self._keys, _point(key))
        for offset in range(len(self._keys)):
            member = self._owners[(start + offset) % len(self._keys)]
            if member not in found:
                found.append(member)
                if len(found) == count:
                    break
        return found
