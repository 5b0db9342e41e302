"""Cut a stream of bytes from the source into pieces, store each, and announce it.

Chunks arrive in whatever sizes the network gives; pieces have a fixed length. Each chunk is
written at its offset as it arrives (memory stays at one chunk), hashed for its piece, and,
when a whole-content digest is expected, hashed for the task on a helper thread at the same
time, so the event loop keeps reading the socket while the hashes run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor

from swarmfly.digests import DigestVerifier
from swarmfly.errors import UpstreamError
from swarmfly.storage import PieceRecord, PieceStore, TaskRecord

#: Chunks handed to the digest thread and not yet hashed (memory: this many chunks).
_HASH_BACKLOG = 8


class StreamWriter:
    """Writes a contiguous run of pieces of one task from a chunk stream."""

    def __init__(
        self,
        store: PieceStore,
        record: TaskRecord,
        *,
        on_piece: Callable[[PieceRecord], Awaitable[None]],
        on_bytes: Callable[[int], None],
        verifier: DigestVerifier | None,
        hash_pool: Executor,
    ) -> None:
        self._store = store
        self._record = record
        self._on_piece = on_piece
        self._on_bytes = on_bytes
        self._verifier = verifier
        self._hash_pool = hash_pool

    async def write_stream(
        self, chunks: AsyncIterator[bytes], *, first_piece: int, expected: int | None
    ) -> int:
        """Store the stream starting at ``first_piece``; returns the bytes written.

        ``expected`` is the length the stream must have, when known: the source client resumes
        dropped bodies itself, so a stream of another length is an upstream fault.
        """
        piece_length = self._record.piece_length
        number = first_piece
        start = first_piece * piece_length
        writer = self._store.piece_writer(self._record.id, number, start)
        room = piece_length
        written = 0
        loop = asyncio.get_running_loop()
        hashing: deque[asyncio.Future[None]] = deque()
        try:
            async for chunk in chunks:
                self._on_bytes(len(chunk))
                if self._verifier is not None:
                    # One hashing thread takes the chunks in order; the loop does not wait
                    # for it except to bound the chunks held in memory.
                    hashing.append(
                        loop.run_in_executor(self._hash_pool, self._verifier.update, chunk)
                    )
                    while len(hashing) > _HASH_BACKLOG:
                        await hashing.popleft()
                view = memoryview(chunk)
                while view:
                    part, view = view[:room], view[room:]
                    await writer.enqueue(part)
                    room -= len(part)
                    written += len(part)
                    if room == 0:
                        await self._on_piece(await writer.commit())
                        number += 1
                        writer = self._store.piece_writer(self._record.id, number, start + written)
                        room = piece_length
            while hashing:
                await hashing.popleft()
            if expected is not None and written != expected:
                raise UpstreamError(
                    f"the source sent {written} bytes where {expected} were expected", status=502
                )
            if room < piece_length or written == 0:
                # A partial last piece, or the single empty piece of an empty task.
                await self._on_piece(await writer.commit())
            else:
                await writer.abort()
        except BaseException:
            await asyncio.shield(writer.abort())
            await asyncio.gather(*hashing, return_exceptions=True)
            raise
        return written
