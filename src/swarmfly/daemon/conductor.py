"""The conductor: every download of a task, whoever asked for it, goes through here.

It gives single flight (the first caller starts the download, later callers join the same
:class:`TaskDownload`), owns the background tasks that do the work (a disconnecting reader
never cancels a download others share), and decides where the bytes come from: the local
store, or the source. Peers join as a source of pieces once the scheduler exists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from swarmfly import errors, idgen
from swarmfly.config import DownloadConfig
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.peering import Peering
from swarmfly.daemon.stream_writer import StreamWriter
from swarmfly.daemon.swarm import OnPiece
from swarmfly.daemon.tasks import TaskDownload, TaskRequest
from swarmfly.digests import DigestMismatch, DigestVerifier
from swarmfly.logs import redacted_url
from swarmfly.source import ByteRange, SourceClient, SourceRequest
from swarmfly.storage import PieceRecord, PieceStore, TaskRecord, TaskState

logger = logging.getLogger(__name__)


class BackToSourceDisabled(errors.Unavailable):
    """Nobody in the swarm has the task and the request forbids going to the source."""


class Conductor:
    """Single-flight task downloads into the piece store."""

    def __init__(
        self,
        config: DownloadConfig,
        store: PieceStore,
        source: SourceClient,
        metrics: DaemonMetrics,
        *,
        peering: Peering | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._peering = peering
        self._config = config
        self._store = store
        self._source = source
        self._metrics = metrics
        self._clock = clock
        self._downloads: dict[str, TaskDownload] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Conductor]:
        """Own the download tasks: at exit, cancel those still running and wait for them."""
        try:
            yield self
        finally:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def store(self) -> PieceStore:
        return self._store

    def current(self, task_id: str) -> TaskDownload | None:
        """The download of ``task_id`` in progress, if there is one."""
        return self._downloads.get(task_id)

    def start(self, request: TaskRequest) -> TaskDownload:
        """Join the download of ``request``'s task, starting it if nobody has."""
        existing = self._downloads.get(request.task_id)
        if existing is not None:
            return existing
        download = TaskDownload(request.task_id, digest=request.digest)
        self._downloads[request.task_id] = download
        task = asyncio.create_task(self._run(request, download), name=f"task {request.task_id}")
        self._tasks[request.task_id] = task
        task.add_done_callback(partial(self._reap, request.task_id))
        return download

    def _reap(self, task_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task_id, None)
        self._downloads.pop(task_id, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "download task crashed", extra={"task_id": task_id}, exc_info=task.exception()
            )

    async def _run(self, request: TaskRequest, download: TaskDownload) -> None:
        started = self._clock()
        self._metrics.active_downloads.inc()
        try:
            with self._store.use(request.task_id):
                async with asyncio.timeout(self._config.total_timeout.total_seconds()):
                    record = await self._download(request, download)
            await download.succeeded(record)
        except asyncio.CancelledError:
            await download.failed(errors.Unavailable("the daemon is shutting down"))
            raise
        except TimeoutError:
            await self._fail(request, download, errors.Timeout("the task did not finish in time"))
        except errors.SwarmflyError as exc:
            await self._fail(request, download, exc)
        except Exception as exc:  # top of an owned task: record the failure for every reader
            logger.exception("download failed unexpectedly", extra={"task_id": request.task_id})
            await self._fail(request, download, errors.SwarmflyError(f"internal error: {exc}"))
        else:
            outcome = "store_hit" if download.from_store else "succeeded"
            self._metrics.tasks.labels(outcome).inc()
            logger.info(
                "task ready",
                extra={
                    "task_id": request.task_id,
                    "bytes": record.content_length,
                    "from_store": download.from_store,
                    "elapsed_ms": round((self._clock() - started) * 1000),
                },
            )
        finally:
            self._metrics.active_downloads.dec()

    async def _fail(self, request: TaskRequest, download: TaskDownload, exc: Exception) -> None:
        self._metrics.tasks.labels("failed").inc()
        self._metrics.errors.labels(type(exc).__name__).inc()
        logger.warning(
            "task failed",
            extra={"task_id": request.task_id, "url": redacted_url(request.url), "error": str(exc)},
        )
        if isinstance(exc, errors.CorruptContent):
            # Bytes that failed their digest are never kept for a later reader.
            await asyncio.shield(self._store.fail_task(request.task_id))
        await download.failed(exc)

    async def _download(self, request: TaskRequest, download: TaskDownload) -> TaskRecord:
        record = await self._store.get_task(request.task_id)
        if record is not None and record.state == TaskState.SUCCEEDED:
            if request.digest is not None and record.digest != str(request.digest):
                # Stored without this digest: check once before anyone is told it matches.
                actual = await self._store.hash_content(request.task_id, request.digest.algorithm)
                if actual != request.digest.hex:
                    raise DigestMismatch(request.digest, actual)
            pieces = await self._store.pieces(request.task_id)
            await self._store.touch(request.task_id)
            download.from_store = True
            self._metrics.store_hits.inc()
            await download.started(record, pieces)
            return record
        if self._peering is not None:
            return await self._peering.download(
                request,
                download,
                partial(self._back_to_source, request, download),
                partial(self._complete, request),
            )
        return await self._back_to_source(request, download, None)

    async def _back_to_source(
        self, request: TaskRequest, download: TaskDownload, on_piece: OnPiece | None
    ) -> TaskRecord:
        """Fetch what the store does not have from the source."""
        if request.disable_back_to_source:
            raise BackToSourceDisabled(
                f"task {request.task_id} is not in the swarm and back-to-source is disabled"
            )
        record = await self._store.get_task(request.task_id)
        if (
            record is not None
            and record.state == TaskState.RUNNING
            and record.content_length is not None
        ):
            return await self._resume(request, download, record, on_piece)
        return await self._fetch_whole(request, download, on_piece)

    async def _fetch_whole(
        self, request: TaskRequest, download: TaskDownload, on_piece: OnPiece | None
    ) -> TaskRecord:
        source_request = SourceRequest(url=request.url, headers=request.headers)
        async with self._source.get(source_request) as response:
            total = response.total_length
            record = await self._store.create_task(
                request.task_id,
                url=request.url,
                content_length=total,
                piece_length=idgen.piece_length_for(total, request.piece_length),
                digest=str(request.digest) if request.digest else None,
            )
            await download.started(record)
            verifier = DigestVerifier(request.digest) if request.digest else None
            writer = self._stream_writer(record, download, verifier, on_piece)
            size = await writer.write_response(response, first_piece=0, expected=total)
        if record.content_length is None:
            record = await self._store.set_content_length(request.task_id, size)
            await download.started(record)
        if verifier is not None:
            verifier.verify()
        return await asyncio.shield(self._store.finish_task(request.task_id))

    async def _resume(
        self,
        request: TaskRequest,
        download: TaskDownload,
        record: TaskRecord,
        on_piece: OnPiece | None,
    ) -> TaskRecord:
        """Fetch only the pieces a previous run did not finish, by ranged requests."""
        record = await self._store.create_task(
            request.task_id,
            url=request.url,
            content_length=record.content_length,
            piece_length=record.piece_length,
            digest=str(request.digest) if request.digest else record.digest,
        )
        assert record.content_length is not None
        have = await self._store.pieces(request.task_id)
        await download.started(record, have)
        missing = missing_runs(
            {piece.number for piece in have},
            idgen.piece_count(record.content_length, record.piece_length),
        )
        logger.info(
            "resuming task", extra={"task_id": request.task_id, "missing_runs": len(missing)}
        )
        writer = self._stream_writer(record, download, None, on_piece)
        for first, last in missing:
            start = first * record.piece_length
            end = min(record.content_length, (last + 1) * record.piece_length) - 1
            source_request = SourceRequest(
                url=request.url, headers=request.headers, range=ByteRange(start, end)
            )
            async with self._source.get(source_request) as response:
                await writer.write_response(response, first_piece=first, expected=end - start + 1)
        return await self._complete(request)

    async def _complete(self, request: TaskRequest) -> TaskRecord:
        """Every piece is stored: check the whole content's digest, then mark it finished."""
        if request.digest is not None:
            actual = await self._store.hash_content(request.task_id, request.digest.algorithm)
            if actual != request.digest.hex:
                raise DigestMismatch(request.digest, actual)
        return await asyncio.shield(self._store.finish_task(request.task_id))

    def _stream_writer(
        self,
        record: TaskRecord,
        download: TaskDownload,
        verifier: DigestVerifier | None,
        on_piece: OnPiece | None,
    ) -> StreamWriter:

        async def landed(piece: PieceRecord) -> None:
            await download.piece_landed(piece)
            self._metrics.pieces.labels("source").inc()
            if on_piece is not None:
                length = download.record.content_length if download.record else None
                on_piece(piece.number, length, record.piece_length)

        return StreamWriter(
            self._store,
            record,
            on_piece=landed,
            on_bytes=self._metrics.bytes_from_source.inc,
            verifier=verifier,
        )


def missing_runs(have: set[int], count: int) -> list[tuple[int, int]]:
    """Contiguous runs of piece numbers in ``0..count-1`` not in ``have``, as (first, last)."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for number in range(count):
        if number in have:
            if first is not None:
                runs.append((first, number - 1))
                first = None
        elif first is None:
            first = number
    if first is not None:
        runs.append((first, count - 1))
    return runs
