"""The metadata database: tasks and their finished pieces, in SQLite beside the content.

One connection, owned by one thread: SQLite serialises writers anyway, and a single thread
means no locking between our own statements. Every method is one hop into that thread and,
when it writes, one transaction (the SQL is in ``tables.py``). WAL with
``synchronous=NORMAL``: a killed process loses nothing, a power cut may lose the last commits
but never corrupts the file, and pieces are re-verified at restart either way.

``sqlite3`` errors are translated here, where they enter: a full disk becomes
:class:`StoreFull`, anything else :class:`StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from swarmfly.storage import tables
from swarmfly.storage.errors import StoreFull, StoreUnavailable
from swarmfly.storage.records import PieceRecord, TaskRecord

T = TypeVar("T")


def translate_sqlite_error(exc: sqlite3.Error) -> StoreFull | StoreUnavailable:
    """The store's error for a sqlite3 one: a full disk is StoreFull, the rest StoreUnavailable."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
        return StoreFull(f"metadata database: {exc}")
    return StoreUnavailable(f"metadata database: {exc}")


class MetadataDB:
    """Tasks and pieces in one SQLite file; every method is one hop to the database thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarmfly-metadata")
        self._conn: sqlite3.Connection | None = None

    async def _hop(self, operation: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._translated, operation)

    @staticmethod
    def _translated(operation: Callable[[], T]) -> T:
        try:
            return operation()
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable("metadata database is not open")
        return self._conn

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await self._hop(lambda: operation(self._connection()))

    async def open(self) -> None:
        """Connect in the database thread (which then owns the connection); create tables."""
        self._conn = await self._hop(lambda: tables.connect(str(self.path)))

    async def close(self) -> None:
        """Close the connection after every queued operation, then let the thread go."""
        await self._hop(self._disconnect)
        self._executor.shutdown(wait=False)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def wipe(self) -> None:
        """Remove the database files; only before :meth:`open` (``storage.keep: false``)."""
        await self._hop(self._remove_files)

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    async def get_task(self, task_id: str) -> TaskRecord | None:
        return await self._run(lambda conn: tables.get_task(conn, task_id))

    async def tasks(self) -> list[TaskRecord]:
        return await self._run(tables.all_tasks)

    async def content_bytes(self) -> int:
        return await self._run(tables.content_bytes)

    async def put_task(self, task: TaskRecord) -> TaskRecord:
        """Insert or update a task (keeping ``created_at``); drop pieces that no longer fit it."""
        return await self._run(lambda conn: tables.put_task(conn, task))

    async def set_content_length(self, task_id: str, content_length: int, now: float) -> TaskRecord:
        return await self._run(
            lambda conn: tables.set_content_length(conn, task_id, content_length, now)
        )

    async def add_piece(self, piece: PieceRecord, now: float) -> PieceRecord:
        """Record a finished piece of a RUNNING task; its bytes must already be written."""
        return await self._run(lambda conn: tables.add_piece(conn, piece, now))

    async def pieces(self, task_id: str) -> list[PieceRecord]:
        return await self._run(lambda conn: tables.pieces(conn, task_id))

    async def get_piece(self, task_id: str, number: int) -> PieceRecord | None:
        return await self._run(lambda conn: tables.get_piece(conn, task_id, number))

    async def drop_pieces(self, task_id: str, numbers: Sequence[int], now: float) -> None:
        """Forget pieces that failed verification; a SUCCEEDED task goes back to RUNNING."""
        await self._run(lambda conn: tables.drop_pieces(conn, task_id, numbers, now))

    async def finish_task(self, task_id: str, now: float) -> TaskRecord:
        return await self._run(lambda conn: tables.finish_task(conn, task_id, now))

    async def fail_task(self, task_id: str, now: float) -> bool:
        """Mark FAILED and forget its pieces; False when there is no such task."""
        return await self._run(lambda conn: tables.fail_task(conn, task_id, now))

    async def delete_task(self, task_id: str) -> bool:
        return await self._run(lambda conn: tables.delete_task(conn, task_id))

    async def touch(self, task_id: str, now: float) -> bool:
        return await self._run(lambda conn: tables.touch(conn, task_id, now))
