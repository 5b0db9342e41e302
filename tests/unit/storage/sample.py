"""Sample tasks for the store tests: IDs, deterministic contents, and a clock tests can move."""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

from swarmfly.storage import PieceRecord, TaskRecord

if TYPE_CHECKING:  # the store tests use it; the record, table and content tests do not
    from swarmfly.storage import PieceStore

KIB = 1024


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def task_id(name: str) -> str:
    """A valid task ID (sha256 hex) named after ``name``."""
    return hashlib.sha256(name.encode()).hexdigest()


def content(name: str, size: int) -> bytes:
    """``size`` pseudo-random bytes, the same for the same name."""
    return random.Random(name).randbytes(size)


def split(data: bytes, piece_length: int) -> list[bytes]:
    """The pieces of ``data``; an empty content has one empty piece."""
    return [data[i : i + piece_length] for i in range(0, len(data), piece_length)] or [b""]


async def start_task(
    store: PieceStore,
    tid: str,
    *,
    content_length: int | None,
    piece_length: int,
    url: str = "https://example.com/file",
) -> TaskRecord:
    """Create (or resume) a task with no digest."""
    return await store.create_task(
        tid, url=url, content_length=content_length, piece_length=piece_length, digest=None
    )


async def write_task(
    store: PieceStore,
    tid: str,
    data: bytes,
    piece_length: int,
    *,
    numbers: list[int] | None = None,
    finish: bool = True,
) -> TaskRecord:
    """Create a task for ``data`` and write its pieces (all, or ``numbers``), then finish it."""
    task = await start_task(store, tid, content_length=len(data), piece_length=piece_length)
    pieces = split(data, piece_length)
    for number in range(len(pieces)) if numbers is None else numbers:
        await store.write_piece(tid, number, number * piece_length, pieces[number])
    if finish:
        task = await store.finish_task(tid)
    return task


def numbers(pieces: list[PieceRecord]) -> list[int]:
    return [piece.number for piece in pieces]
