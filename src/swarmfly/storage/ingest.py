"""A task's bytes arriving in order from one stream (back-to-source), cut into pieces on the
thread that reads them.

:class:`PieceSink` is what :meth:`swarmfly.source.SourceResponse.pump` writes into: each call
pwrites a run of bytes at its place in the content file and hashes it for its piece, without
a hop through the event loop. When a piece is whole, its :class:`PieceRecord` is handed to
``on_piece`` (still on that thread); the store records it with
:meth:`~swarmfly.storage.PieceStore.record_piece` only then, so a row is never written before
its bytes. Memory stays at the caller's buffer whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable

from swarmfly.digests import new_piece_hasher
from swarmfly.storage.content import pwrite_all, translated_os_errors
from swarmfly.storage.errors import InvalidPiece
from swarmfly.storage.records import PieceRecord, TaskRecord


class PieceSink:
    """Writes a run of pieces of one task, starting at ``first_piece``; not thread-safe (one
    writer thread at a time, which the pump guarantees)."""

    def __init__(
        self,
        task: TaskRecord,
        fd: int,
        first_piece: int,
        on_piece: Callable[[PieceRecord], None],
    ) -> None:
        self.task_id = task.id
        self.written = 0
        self._fd = fd
        self._piece_length = task.piece_length
        self._limit = task.content_length
        self._on_piece = on_piece
        self._number = first_piece
        self._start = first_piece * task.piece_length  # offset of the piece being filled
        self._filled = 0
        self._hasher = new_piece_hasher()
        self._stopped: BaseException | None = None

    def write(self, data: memoryview) -> None:
        """pwrite ``data`` right after the previous run, and cut it into pieces."""
        if self._stopped is not None:
            raise self._stopped
        position = self._start + self._filled
        if self._limit is not None and position + len(data) > self._limit:
            raise InvalidPiece(
                f"{len(data)} bytes at {position} run past the end of task {self.task_id} "
                f"({self._limit} bytes)"
            )
        with translated_os_errors(f"task {self.task_id}"):
            pwrite_all(self._fd, data, position)
        self.written += len(data)
        while data:
            room = self._piece_length - self._filled
            part, data = data[:room], data[room:]
            self._hasher.update(part)
            self._filled += len(part)
            if self._filled == self._piece_length:
                self._emit()

    def finish(self) -> None:
        """The run is over: a partial last piece is whole now (and an empty run is the one
        empty piece of an empty task)."""
        if self._filled or not self.written:
            self._emit()

    def stop(self, reason: BaseException) -> None:
        """Make the next :meth:`write` raise ``reason``: whoever consumes the pieces failed."""
        self._stopped = reason

    def _emit(self) -> None:
        piece = PieceRecord(
            self.task_id, self._number, self._start, self._filled, self._hasher.hexdigest()
        )
        self._number += 1
        self._start += self._filled
        self._filled = 0
        self._hasher.reset()
        self._on_piece(piece)
