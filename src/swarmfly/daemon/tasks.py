"""A task being downloaded, as its readers see it: which pieces have landed, and how it ended.

The conductor owns the download; any number of readers (the control API, the proxy, other
peers through the piece server) wait on the same :class:`TaskDownload`. Nobody polls: a reader
checks the state, and if its piece is not there yet it waits on the condition that every
landed piece notifies. The store's metadata stays the source of truth for finished tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from swarmfly import idgen
from swarmfly.digests import Digest, parse_digest
from swarmfly.storage import PieceRecord, TaskRecord


@dataclass(frozen=True)
class TaskRequest:
    """Everything that names a task and says how to fetch it."""

    url: str
    task_id: str
    headers: tuple[tuple[str, str], ...] = ()
    tag: str = ""
    application: str = ""
    piece_length: int | None = None
    digest: Digest | None = None
    disable_back_to_source: bool = False
    filtered_query_params: tuple[str, ...] = idgen.DEFAULT_FILTERED_QUERY_PARAMS
    use_blob_digest: bool = True
    peer_id: str | None = None  # set by the scheduler for a seed order
    is_seed_order: bool = False  # a seed peer fetching from the source on the scheduler's order

    @classmethod
    def build(
        cls,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        tag: str = "",
        application: str = "",
        filtered_query_params: Sequence[str] = idgen.DEFAULT_FILTERED_QUERY_PARAMS,
        piece_length: int | None = None,
        digest: str | None = None,
        disable_back_to_source: bool = False,
        use_blob_digest: bool = True,
        peer_id: str | None = None,
        is_seed_order: bool = False,
    ) -> TaskRequest:
        """Validate the inputs and compute the task ID with the one ``idgen`` rule."""
        if piece_length is not None:
            idgen.validate_piece_length(piece_length)
        expected = parse_digest(digest) if digest else None
        blob = idgen.blob_digest(url) if use_blob_digest else None
        task_id = idgen.task_id(
            url,
            tag=tag,
            application=application,
            piece_length=piece_length,
            filtered_query_params=filtered_query_params,
            use_blob_digest=use_blob_digest,
        )
        return cls(
            url=url,
            task_id=task_id,
            headers=tuple(headers),
            tag=tag,
            application=application,
            piece_length=piece_length,
            digest=expected or blob,
            disable_back_to_source=disable_back_to_source,
            filtered_query_params=tuple(filtered_query_params),
            use_blob_digest=use_blob_digest,
            peer_id=peer_id,
            is_seed_order=is_seed_order,
        )


@dataclass(eq=False)
class TaskDownload:
    """The shared, in-memory view of one task while it downloads (or once it is complete)."""

    task_id: str
    digest: Digest | None = None
    record: TaskRecord | None = None
    from_store: bool = False  # complete in the store before anybody asked
    pieces: dict[int, PieceRecord] = field(default_factory=dict)
    error: BaseException | None = None
    finished: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def complete(cls, record: TaskRecord, pieces: Sequence[PieceRecord]) -> TaskDownload:
        download = cls(record.id, record=record, from_store=True, finished=True)
        download.pieces = {piece.number: piece for piece in pieces}
        download.digest = parse_digest(record.digest) if record.digest else None
        return download

    @property
    def piece_count(self) -> int | None:
        return self.record.piece_count if self.record is not None else None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def started(self, record: TaskRecord, pieces: Sequence[PieceRecord] = ()) -> None:
        """The source answered: the task's length and piece length are known."""
        self.record = record
        self.pieces.update({piece.number: piece for piece in pieces})
        await self._notify()

    async def piece_landed(self, piece: PieceRecord) -> None:
        self.pieces[piece.number] = piece
        await self._notify()

    async def succeeded(self, record: TaskRecord) -> None:
        self.record = record
        self.finished = True
        await self._notify()

    async def failed(self, error: BaseException) -> None:
        self.error = error
        await self._notify()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    async def wait_started(self) -> TaskRecord:
        """Wait until the length is known; raises the download's error if it failed first.

        Once the length is known it is returned even after a failure: the pieces that landed
        before it can still be served (see :meth:`wait_piece`).
        """
        async with self._changed:
            await self._changed.wait_for(lambda: self.record is not None or self.error is not None)
        if self.record is None:
            self._raise_if_failed()
        assert self.record is not None
        return self.record

    async def wait_done(self) -> TaskRecord:
        async with self._changed:
            await self._changed.wait_for(lambda: self.finished or self.error is not None)
        self._raise_if_failed()
        assert self.record is not None
        return self.record

    async def wait_piece(self, number: int, *, hold_last: bool) -> PieceRecord:
        """Wait for piece ``number``.

        With ``hold_last``, the last piece is released only once the whole task is verified:
        a reader streaming a blob with a known digest never completes wrong bytes.
        """

        def releasable() -> bool:
            if number not in self.pieces:
                return False
            return not hold_last or self.finished or not self._is_last(number)

        async with self._changed:
            await self._changed.wait_for(lambda: releasable() or self.error is not None)
        if releasable():
            # A verified piece is served even when the download failed after it landed: a
            # reader that resumes later (containerd does) then needs only the rest.
            return self.pieces[number]
        self._raise_if_failed()
        raise AssertionError("unreachable: woken with neither the piece nor an error")

    async def wait_more_pieces(self, known: int) -> None:
        """Wait until the download started and has more than ``known`` pieces, or ended."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    (self.record is not None and len(self.pieces) > known)
                    or self.finished
                    or self.error is not None
                )
            )

    def _is_last(self, number: int) -> bool:
        count = self.piece_count
        # An unknown length (chunked source) means any piece may be the last.
        return count is None or number == count - 1

    async def pieces_in_order(self, first: int, last: int | None) -> AsyncIterator[PieceRecord]:
        """Yield pieces ``first..last`` (``None``: to the end) in order as they land."""
        number = first
        while True:
            await self.wait_started()
            count = self.piece_count
            if count is None:
                # Unknown length: the end is known only when the task finishes.
                piece = await self._wait_piece_or_end(number)
                if piece is None:
                    return
            else:
                end = count - 1 if last is None else min(last, count - 1)
                if number > end:
                    return
                piece = await self.wait_piece(number, hold_last=self.digest is not None)
            yield piece
            number += 1

    async def _wait_piece_or_end(self, number: int) -> PieceRecord | None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: number in self.pieces or self.finished or self.error is not None
            )
        self._raise_if_failed()
        if number in self.pieces and (self.finished or self.digest is None):
            return self.pieces[number]
        if number in self.pieces:
            return await self.wait_piece(number, hold_last=True)
        return None
