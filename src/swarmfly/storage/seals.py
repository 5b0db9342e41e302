"""Notice when a finished content file changes behind the store's back.

A finished task's file can be shared: ``dfget`` gets a hard link to it, so the user's copy
and the store's are one inode. Whoever writes to that file (root ignores the read-only mode)
changes what the store would serve. The store therefore seals each file it trusts with its
inode, size and mtime (which every write or truncate moves, while renaming or linking the
file, as dfget does, leaves it alone), and checks the seal before it trusts the file again:
a broken seal makes the store let go of the file and fetch the task again, so a changed
byte is never served. (Someone who writes and then sets the mtime back on purpose is root
and could as well edit the metadata; the seal is there for accidents.)
"""

from __future__ import annotations

import os
from pathlib import Path

Seal = tuple[int, int, int]


def seal_of(path: Path) -> Seal | None:
    """The file's identity now; None when it is gone."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class Seals:
    """The seal of each finished content file the store trusts."""

    def __init__(self) -> None:
        self._seals: dict[str, Seal] = {}

    def seal(self, task_id: str, path: Path) -> None:
        seal = seal_of(path)
        if seal is not None:
            self._seals[task_id] = seal

    def forget(self, task_id: str) -> None:
        self._seals.pop(task_id, None)

    def broken(self, task_id: str, path: Path) -> bool:
        """Whether a sealed file changed since it was sealed (the seal is then dropped).

        A stat costs about a microsecond, cheaper than the hop to a thread that would run it.
        """
        expected = self._seals.get(task_id)
        if expected is None or seal_of(path) == expected:
            return False
        del self._seals[task_id]
        return True
