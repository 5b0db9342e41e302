"""Store a response body from the source as pieces, and announce each as it lands.

The bytes go from the socket to the content file on a worker thread (see
:meth:`swarmfly.source.SourceResponse.pump` and :class:`swarmfly.storage.PieceSink`), which
cuts them into pieces and hashes each on the way. The event loop only hears of whole pieces:
it records each (the row after the bytes) and tells the readers. When a whole-content digest
is expected, the writing thread also hands each run it wrote to a
:class:`~swarmfly.digests.DigestThread`, which hashes those same buffers on another core (the
pump leaves them intact until then): sha256 runs beside the download instead of in its path,
and the bytes are never read back from the page cache for it. Downloads side by side, such
as an image's layers, hash on as many cores as there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from swarmfly.digests import DigestThread, DigestVerifier
from swarmfly.errors import UpstreamError
from swarmfly.source import SourceResponse
from swarmfly.storage import PieceRecord, PieceStore, TaskRecord

#: Marks the end of the landed pieces.
_END = None


class StreamWriter:
    """Writes contiguous runs of pieces of one task from source responses."""

    def __init__(
        self,
        store: PieceStore,
        record: TaskRecord,
        *,
        on_piece: Callable[[PieceRecord], Awaitable[None]],
        on_bytes: Callable[[int], None],
        verifier: DigestVerifier | None,
    ) -> None:
        self._store = store
        self._record = record
        self._on_piece = on_piece
        self._on_bytes = on_bytes
        self._verifier = verifier

    async def write_response(
        self, response: SourceResponse, *, first_piece: int, expected: int | None
    ) -> int:
        """Store the body as pieces from ``first_piece`` on; returns the bytes written.

        ``expected`` is the length the body must have, when known: the response resumes
        dropped bodies itself, so a body of another length is an upstream fault. Pieces
        that landed whole stay recorded when the body fails later (a resume needs only the
        rest). With a verifier, every byte written has been fed to it when this returns.
        """
        loop = asyncio.get_running_loop()
        landed: asyncio.Queue[PieceRecord | None] = asyncio.Queue()

        def on_piece(piece: PieceRecord | None) -> None:  # on the writing thread
            loop.call_soon_threadsafe(landed.put_nowait, piece)

        async with self._store.ingest(self._record.id, first_piece, on_piece) as sink:
            digest = DigestThread(self._verifier) if self._verifier is not None else None

            def take(data: memoryview) -> None:  # on the writing thread
                self._on_bytes(len(data))
                sink.write(data)
                if digest is not None:
                    digest.update(data)

            recorder = asyncio.create_task(self._record_pieces(landed, sink.stop))
            try:
                await response.pump(take, keeps=digest.keeps if digest is not None else 0)
                if expected is not None and sink.written != expected:
                    raise UpstreamError(
                        f"the source sent {sink.written} bytes where {expected} were expected",
                        status=502,
                    )
                sink.finish()
                if digest is not None:
                    await digest.drain()
            except BaseException:
                # Record what landed whole, then report the failure itself.
                on_piece(_END)
                await asyncio.gather(recorder, return_exceptions=True)
                raise
            else:
                # Queued after every piece: the thread's puts were scheduled before the pump
                # returned, and call_soon_threadsafe keeps their order.
                on_piece(_END)
                await recorder
                return sink.written
            finally:
                if digest is not None:
                    digest.close()

    async def _record_pieces(
        self,
        landed: asyncio.Queue[PieceRecord | None],
        stop_writer: Callable[[BaseException], None],
    ) -> None:
        """Record and announce each landed piece, in order."""
        try:
            while (piece := await landed.get()) is not None:
                record = await self._store.record_piece(piece)
                await self._on_piece(record)
        except BaseException as exc:
            stop_writer(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise
