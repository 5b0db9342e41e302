"""The store's records (one task, one finished piece) and the pure rules about their layout.

The rules are plain functions so that the metadata database can apply them inside the
transaction that writes a row, and tests can drive them with tables, without any I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum, auto

from swarmfly.idgen import piece_count


class TaskState(StrEnum):
    """Where a task is in its life: pieces arrive while RUNNING; only SUCCEEDED is whole.

    The values are the lowercase names (``"succeeded"``), as ``auto()`` makes them; they are
    what the database stores and what the control API shows.
    """

    RUNNING = auto()
    SUCCEEDED = auto()
    FAILED = auto()


@dataclass(frozen=True)
class TaskRecord:
    """One task as the metadata database holds it; times are seconds from the store's clock."""

    id: str
    url: str
    content_length: int | None
    piece_length: int
    digest: str | None
    state: TaskState
    created_at: float
    updated_at: float
    last_access_at: float
    size_on_disk: int

    @property
    def piece_count(self) -> int | None:
        """How many pieces the whole task has; ``None`` while the length is unknown."""
        if self.content_length is None:
            return None
        return piece_count(self.content_length, self.piece_length)


@dataclass(frozen=True)
class PieceRecord:
    """A finished piece: ``length`` bytes at ``offset`` of the task's content file."""

    task_id: str
    number: int
    offset: int
    length: int
    digest: str


def piece_capacity(task: TaskRecord, number: int) -> int:
    """The most bytes piece ``number`` may hold; its exact length once the task's is known."""
    if task.content_length is None:
        return task.piece_length
    return max(0, min(task.piece_length, task.content_length - number * task.piece_length))


def piece_problem(
    task: TaskRecord, number: int, offset: int, length: int | None = None
) -> str | None:
    """Why piece ``number`` at ``offset`` (of ``length`` bytes) cannot belong to ``task``, or None.

    Pieces sit at ``number * piece_length``. While the length is unknown any piece may be short
    (it might be the last); once it is known every piece has exactly its length. Without
    ``length`` only the placement is checked (a writer that has not seen its bytes yet).
    """
    if number < 0:
        return f"piece number {number} is negative"
    if offset != number * task.piece_length:
        return f"piece {number} starts at {number * task.piece_length}, not {offset}"
    count = task.piece_count
    if count is not None and number >= count:
        return f"piece {number} is past the last piece ({count - 1})"
    if length is None:
        return None
    if task.content_length is not None and length != piece_capacity(task, number):
        return f"piece {number} must be {piece_capacity(task, number)} bytes, not {length}"
    if length > task.piece_length:
        return f"piece {number} is {length} bytes, longer than the piece length {task.piece_length}"
    return None


def missing_pieces(task: TaskRecord, numbers: Collection[int]) -> list[int]:
    """The piece numbers a task of known length still lacks, in order."""
    count = task.piece_count
    if count is None:
        raise ValueError("a task of unknown length cannot say which pieces it lacks")
    present = set(numbers)
    return [number for number in range(count) if number not in present]


def layout_changed(
    task: TaskRecord, *, content_length: int | None, piece_length: int, digest: str | None
) -> bool:
    """Whether a resumed task describes different content, so its old pieces cannot be kept."""
    if task.piece_length != piece_length:
        return True
    if None not in (task.content_length, content_length) and task.content_length != content_length:
        return True
    return task.digest is not None and digest is not None and task.digest != digest
