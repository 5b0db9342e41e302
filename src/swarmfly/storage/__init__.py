"""The piece store: task content written piece by piece, its metadata, and garbage collection."""

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
from swarmfly.storage.records import PieceRecord, TaskRecord, TaskState

__all__ = [
    "DigestMismatch",
    "InvalidPiece",
    "PieceCorrupt",
    "PieceNotFound",
    "PieceRecord",
    "StoreFull",
    "StoreUnavailable",
    "TaskInUse",
    "TaskIncomplete",
    "TaskNotFound",
    "TaskNotRunning",
    "TaskRecord",
    "TaskState",
]
