"""The piece store: task content written piece by piece, its metadata, and garbage collection.

Open it with ``async with PieceStore.open(config.storage) as store``; run the collector with
``async with GarbageCollector.running(store, config.gc)``.
"""

from swarmfly.storage.errors import (
    DigestMismatch,
    InvalidPiece,
    PieceCorrupt,
    PieceNotFound,
    StoreFull,
    StoreUnavailable,
    TaskIncomplete,
    TaskInUse,
    TaskNotFound,
    TaskNotRunning,
)
from swarmfly.storage.gc import GarbageCollector
from swarmfly.storage.ingest import PieceSink
from swarmfly.storage.records import PieceRecord, TaskRecord, TaskState
from swarmfly.storage.store import PieceStore

__all__ = [
    "DigestMismatch",
    "GarbageCollector",
    "InvalidPiece",
    "PieceCorrupt",
    "PieceNotFound",
    "PieceRecord",
    "PieceSink",
    "PieceStore",
    "StoreFull",
    "StoreUnavailable",
    "TaskInUse",
    "TaskIncomplete",
    "TaskNotFound",
    "TaskNotRunning",
    "TaskRecord",
    "TaskState",
]
