"""What the piece store raises, each under the category the rest of Swarmfly catches.

    NotFound
    ├── TaskNotFound          no such task (or its content file is gone)
    └── PieceNotFound         the task has no finished piece with that number
    Conflict
    ├── TaskInUse             a reader or writer holds the task; it cannot be deleted now
    ├── TaskNotRunning        pieces can only be added to a RUNNING task
    └── TaskIncomplete        finish_task with pieces missing (or the length still unknown)
    InvalidInput
    └── InvalidPiece          number, offset or length do not fit the task
    StorageFull
    └── StoreFull             disk or quota full (ENOSPC, EDQUOT, SQLITE_FULL)
    CorruptContent
    ├── PieceCorrupt          a piece's bytes do not match its xxh3 digest
    └── DigestMismatch        the whole content does not match its digest (from swarmfly.digests)
    Unavailable
    └── StoreUnavailable      the disk or the metadata database failed in another way (EIO, locked)

sqlite3 and OS errors are translated into these where they enter (``metadata.py``,
``content.py``), so nothing above the store ever sees ``sqlite3.Error`` or ``OSError``.
"""

from __future__ import annotations

from swarmfly.digests import DigestMismatch
from swarmfly.errors import (
    Conflict,
    CorruptContent,
    InvalidInput,
    NotFound,
    StorageFull,
    Unavailable,
)

__all__ = [
    "DigestMismatch",
    "InvalidPiece",
    "PieceCorrupt",
    "PieceNotFound",
    "StoreFull",
    "StoreUnavailable",
    "TaskInUse",
    "TaskIncomplete",
    "TaskNotFound",
    "TaskNotRunning",
]


class TaskNotFound(NotFound):
    """The store has no such task."""


class PieceNotFound(NotFound):
    """The task has no finished, verified piece with that number."""


class TaskInUse(Conflict):
    """Someone is reading or writing the task, so it cannot be deleted now."""


class TaskNotRunning(Conflict):
    """Pieces are only accepted while the task is RUNNING."""


class TaskIncomplete(Conflict):
    """A task cannot be marked SUCCEEDED while pieces are missing."""


class InvalidPiece(InvalidInput):
    """The piece's number, offset or length do not fit the task's layout."""


class StoreFull(StorageFull):
    """The filesystem (or quota) under the store has no room left."""


class PieceCorrupt(CorruptContent):
    """A stored piece no longer hashes to the digest recorded for it; it has been dropped."""


class StoreUnavailable(Unavailable):
    """The store's disk or database failed in a way retrying later might fix (I/O error, lock)."""
