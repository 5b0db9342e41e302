"""A piece that arrives as a stream of chunks (back-to-source): written as it comes, hashed as
it passes, and declared finished only by :meth:`PieceWriter.commit`.

Bytes on disk mean nothing until the row exists, and the row is written after the bytes (and
after fdatasync when ``storage.fsync`` is on). A writer that fails halfway is spoiled: its
running hash may no longer match the disk, so it can only be aborted and started again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from enum import Enum
from types import TracebackType

from swarmfly.digests import new_piece_hasher
from swarmfly.storage.content import ContentFiles
from swarmfly.storage.errors import InvalidPiece
from swarmfly.storage.metadata import MetadataDB
from swarmfly.storage.records import PieceRecord, TaskRecord, piece_capacity, piece_problem

logger = logging.getLogger(__name__)

#: Chunk writes one piece writer keeps in flight (memory: this many chunks).
MAX_IN_FLIGHT = 4


class _State(Enum):
    OPEN = "open"
    WRITING = "writing"
    COMMITTED = "committed"
    ABORTED = "aborted"


class PieceWriter:
    """Writes one piece chunk by chunk at its running offset. Use it as::

        async with store.piece_writer(task_id, number, offset) as writer:
            async for chunk in body:
                await writer.write(chunk)
            await writer.commit()

    Leaving the ``async with`` without a commit aborts. Await each ``write`` before the next.
    Writing a piece that is already finished overwrites it (and its row, at commit).
    """

    def __init__(
        self,
        task_id: str,
        number: int,
        offset: int,
        *,
        files: ContentFiles,
        metadata: MetadataDB,
        running_task: Callable[[str], Awaitable[TaskRecord]],
        clock: Callable[[], float],
    ) -> None:
        self.task_id = task_id
        self.number = number
        self.offset = offset
        self.length = 0
        self._files = files
        self._metadata = metadata
        self._running_task = running_task
        self._clock = clock
        self._hasher = new_piece_hasher()
        self._capacity: int | None = None
        self._state = _State.OPEN
        self._in_flight: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> PieceWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._state is not _State.COMMITTED:
            await self.abort()

    async def _claim(self) -> int:
        """Check the task once, before the first byte: it is RUNNING and the piece fits it."""
        if self._state is not _State.OPEN:
            raise RuntimeError(f"piece writer is {self._state.value}")
        self._state = _State.WRITING
        if self._capacity is None:
            try:
                task = await self._running_task(self.task_id)
            except BaseException:
                self._state = _State.ABORTED
                raise
            problem = piece_problem(task, self.number, self.offset)
            if problem is not None:
                self._state = _State.ABORTED
                raise InvalidPiece(problem)
            self._capacity = piece_capacity(task, self.number)
        return self._capacity

    async def write(self, chunk: bytes | memoryview) -> None:
        """pwrite ``chunk`` right after the previous one; the hash is updated in the same hop."""
        capacity = await self._claim()
        if self.length + len(chunk) > capacity:
            self._state = _State.ABORTED
            raise InvalidPiece(
                f"piece {self.number} of task {self.task_id} exceeds {capacity} bytes"
            )
        try:
            await self._files.write(self.task_id, self.offset + self.length, chunk, self._hasher)
        except BaseException:
            self._state = _State.ABORTED
            raise
        self.length += len(chunk)
        self._state = _State.OPEN

    async def enqueue(self, chunk: bytes | memoryview) -> None:
        """Hash ``chunk`` now and start writing it, without waiting for the disk.

        The hash is updated here, on the caller's thread, so chunks are hashed in the order
        they are queued; the pwrites run on the content pool (up to ``MAX_IN_FLIGHT`` at once:
        past that this waits for the oldest). The socket keeps being read while the disk
        works, which a write-then-wait per chunk does not allow. :meth:`commit` waits for every
        queued write; a failed one spoils the writer.
        """
        capacity = await self._claim()
        if self.length + len(chunk) > capacity:
            self._state = _State.ABORTED
            raise InvalidPiece(
                f"piece {self.number} of task {self.task_id} exceeds {capacity} bytes"
            )
        self._hasher.update(chunk)
        self._in_flight.append(
            asyncio.ensure_future(self._files.write(self.task_id, self.offset + self.length, chunk))
        )
        self.length += len(chunk)
        self._state = _State.OPEN
        while len(self._in_flight) > MAX_IN_FLIGHT:
            await self._drain_one()

    async def _drain_one(self) -> None:
        try:
            await self._in_flight.popleft()
        except BaseException:
            self._state = _State.ABORTED
            raise

    async def _drain(self) -> None:
        while self._in_flight:
            await self._drain_one()

    async def commit(self) -> PieceRecord:
        """Sync the bytes (as configured), then record the piece as finished."""
        await self._claim()
        await self._drain()
        try:
            await self._files.sync(self.task_id)
            piece = PieceRecord(
                self.task_id, self.number, self.offset, self.length, self._hasher.hexdigest()
            )
            record = await self._metadata.add_piece(piece, self._clock())
        except BaseException:
            self._state = _State.ABORTED
            raise
        self._state = _State.COMMITTED
        logger.debug(
            "piece stored",
            extra={"task_id": self.task_id, "piece": self.number, "bytes": self.length},
        )
        return record

    async def abort(self) -> None:
        """Give up on the piece; its bytes stay on disk but no row ever declares them.

        Queued writes are waited for (their errors do not matter now), so none lands after
        the abort, over the bytes of whoever writes this piece next.
        """
        if self._state is not _State.COMMITTED:
            self._state = _State.ABORTED
        in_flight, self._in_flight = list(self._in_flight), deque()
        await asyncio.gather(*in_flight, return_exceptions=True)
