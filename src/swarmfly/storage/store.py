"""The piece store: content files, their metadata and the proof of both, behind one facade.

Nothing is served that this process has not verified or written itself. At ``open()`` the
store deletes content nobody describes; the first time each older task is touched, every one
of its pieces is re-hashed, bad pieces are dropped and a SUCCEEDED task that lost one goes
back to RUNNING, so it is downloaded again rather than served wrong. Data is always written
(and synced, when configured) before the row that declares it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import BinaryIO

from swarmfly.config import StorageConfig
from swarmfly.errors import InvalidInput, SwarmflyError
from swarmfly.idgen import is_task_id
from swarmfly.storage.content import ContentFiles
from swarmfly.storage.errors import (
    InvalidPiece,
    PieceCorrupt,
    PieceNotFound,
    TaskInUse,
    TaskNotFound,
    TaskNotRunning,
)
from swarmfly.storage.holds import TaskHolds
from swarmfly.storage.ingest import PieceSink
from swarmfly.storage.metadata import MetadataDB
from swarmfly.storage.records import (
    PieceRecord,
    TaskRecord,
    TaskState,
    layout_changed,
    piece_problem,
)
from swarmfly.storage.seals import Seals
from swarmfly.storage.verification import ProvenTasks, drop_pieces, prove_task

logger = logging.getLogger(__name__)

DATABASE_NAME = "metadata.db"


class PieceStore:
    """Tasks and their pieces under ``config.dir``; open it with :meth:`open`."""

    def __init__(self, config: StorageConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._files = ContentFiles(config.dir, fsync=config.fsync)
        self._metadata = MetadataDB(config.dir / DATABASE_NAME)
        self._proven = ProvenTasks(self._prove)
        self._holds = TaskHolds()
        self._seals = Seals()

    @classmethod
    @asynccontextmanager
    async def open(
        cls, config: StorageConfig, *, clock: Callable[[], float] = time.time
    ) -> AsyncIterator[PieceStore]:
        """Create the directories, open the database, recover; close everything on exit."""
        store = cls(config, clock=clock)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(store._files.close)
            stack.push_async_callback(store._metadata.close)
            await store._files.make_dir()
            if not config.keep:
                await store._files.wipe()
                await store._metadata.wipe()
                await store._files.make_dir()
            await store._metadata.open()
            stack.push_async_callback(store._proven.aclose)
            await store._recover()
            yield store

    async def _recover(self) -> None:
        """Delete content files that no live task describes; the rest is proven lazily."""
        tasks = await self._metadata.tasks()
        live = {task.id for task in tasks if task.state is not TaskState.FAILED}
        removed = await self._files.remove_orphans(live)
        for name in removed:
            logger.warning("orphan content removed", extra={"task_id": name})
        logger.info("piece store opened", extra={"tasks": len(tasks), "path": str(self.root)})

    @property
    def root(self) -> Path:
        return self.config.dir

    def content_path(self, task_id: str) -> Path:
        """Where the task's content file lives; rejects anything that is not a task ID."""
        return self._files.path(self._valid(task_id))

    @staticmethod
    def _valid(task_id: str) -> str:
        """``task_id`` itself, once it is known to be safe as a file name."""
        if not is_task_id(task_id):
            raise InvalidInput(f"not a task ID: {task_id!r}")
        return task_id

    async def _prove(self, task_id: str) -> bool:
        proven = await prove_task(self._metadata, self._files, task_id, self._clock())
        task = await self._metadata.get_task(task_id) if proven else None
        if task is not None and task.state is TaskState.SUCCEEDED:
            self._seals.seal(task_id, self._files.path(task_id))
        return proven

    async def _ensure_proven(self, task_id: str) -> None:
        """Prove the task if this process does not trust it, or its file changed on disk."""
        if self._seals.broken(task_id, self._files.path(task_id)):
            # Not ours any more: drop our name for it (a hard link elsewhere keeps its bytes),
            # so the proof finds no piece and the task is fetched again into a new file.
            logger.warning("content changed on disk; fetching it again", extra={"task_id": task_id})
            self._proven.forget(task_id)
            await self._files.remove(task_id)
        await self._proven.ensure(task_id)

    async def _known(self, task_id: str) -> TaskRecord:
        """The proven record of an existing task."""
        self._valid(task_id)
        await self._ensure_proven(task_id)
        task = await self._metadata.get_task(task_id)
        if task is None:
            raise TaskNotFound(f"no task {task_id}")
        return task

    async def _running(self, task_id: str) -> TaskRecord:
        task = await self._known(task_id)
        if task.state is not TaskState.RUNNING:
            raise TaskNotRunning(f"task {task_id} is {task.state}, not running")
        return task

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """The task, after its pieces have been proven in this process; None if unknown."""
        self._valid(task_id)
        await self._ensure_proven(task_id)
        return await self._metadata.get_task(task_id)

    async def create_task(
        self,
        task_id: str,
        *,
        url: str,
        content_length: int | None,
        piece_length: int,
        digest: str | None,
    ) -> TaskRecord:
        """Start (or resume) a RUNNING task; a SUCCEEDED one is returned unchanged.

        A resumed task keeps its proven pieces unless the layout changed. A known length is
        reserved on disk first, so a full disk raises StoreFull and leaves nothing behind.
        """
        if piece_length <= 0 or (content_length is not None and content_length < 0):
            raise InvalidInput(f"bad layout: {content_length} bytes in pieces of {piece_length}")
        async with self._holds.lifecycle(self._valid(task_id)):
            return await self._create_task(task_id, url, content_length, piece_length, digest)

    async def _create_task(
        self,
        task_id: str,
        url: str,
        content_length: int | None,
        piece_length: int,
        digest: str | None,
    ) -> TaskRecord:
        old = await self.get_task(task_id)
        if old is not None and old.state is TaskState.SUCCEEDED:
            return old
        reset = old is not None and layout_changed(
            old, content_length=content_length, piece_length=piece_length, digest=digest
        )
        if reset:  # the old pieces describe other content: fail it, then start afresh
            await self._discard_content(task_id)
            await self._metadata.fail_task(task_id, self._clock())
        created = await self._files.allocate(task_id, content_length)
        now = self._clock()
        task = TaskRecord(
            id=task_id,
            url=url,
            content_length=content_length,
            piece_length=piece_length,
            digest=digest,
            state=TaskState.RUNNING,
            created_at=now if old is None else old.created_at,
            updated_at=now,
            last_access_at=now,
            size_on_disk=_size_on_disk(old, content_length, reset),
        )
        try:
            task = await self._metadata.put_task(task)
        except SwarmflyError:
            if created:
                await self._files.remove(task_id)
            raise
        self._proven.mark(task_id)
        logger.info(
            "task resumed" if old is not None else "task created",
            extra={"task_id": task_id, "bytes": content_length, "reset": reset},
        )
        return task

    async def set_content_length(self, task_id: str, content_length: int) -> TaskRecord:
        """Fix the length of a RUNNING task that started without one (reserving the space)."""
        if content_length < 0:
            raise InvalidInput(f"negative content length {content_length}")
        async with self._holds.lifecycle(self._valid(task_id)):
            task = await self._running(task_id)
            if task.content_length == content_length:
                return task
            await self._files.allocate(task_id, content_length)
            return await self._metadata.set_content_length(task_id, content_length, self._clock())

    @asynccontextmanager
    async def ingest(
        self, task_id: str, first_piece: int, on_piece: Callable[[PieceRecord], None]
    ) -> AsyncIterator[PieceSink]:
        """A sink for the task's bytes from ``first_piece`` on, arriving in order (see
        :mod:`swarmfly.storage.ingest`); each whole piece goes to ``on_piece`` on the writing
        thread, to be recorded with :meth:`record_piece`."""
        task = await self._running(task_id)
        problem = piece_problem(task, first_piece, first_piece * task.piece_length)
        if problem is not None:
            raise InvalidPiece(problem)
        fd = await self._files.open_fd(task_id)
        try:
            yield PieceSink(task, fd, first_piece, on_piece)
        finally:
            await asyncio.shield(self._files.close_fd(fd))

    async def record_piece(self, piece: PieceRecord) -> PieceRecord:
        """Declare a piece a :class:`PieceSink` wrote: sync (as configured), then the row."""
        task = await self._running(piece.task_id)
        problem = piece_problem(task, piece.number, piece.offset, piece.length)
        if problem is not None:
            raise InvalidPiece(problem)
        await self._files.sync(piece.task_id)
        record = await self._metadata.add_piece(piece, self._clock())
        logger.debug(
            "piece stored",
            extra={"task_id": piece.task_id, "piece": piece.number, "bytes": piece.length},
        )
        return record

    async def write_piece(
        self,
        task_id: str,
        number: int,
        offset: int,
        data: bytes,
        *,
        expected_digest: str | None = None,
    ) -> PieceRecord:
        """Store a whole piece: check ``expected_digest`` (xxh3 hex), write, then record it."""
        task = await self._running(task_id)
        problem = piece_problem(task, number, offset, len(data))
        if problem is not None:
            raise InvalidPiece(problem)
        digest = await self._files.write_piece(task_id, offset, data, expected_digest)
        piece = PieceRecord(task_id, number, offset, len(data), digest)
        record = await self._metadata.add_piece(piece, self._clock())
        logger.debug(
            "piece stored", extra={"task_id": task_id, "piece": number, "bytes": len(data)}
        )
        return record

    async def pieces(self, task_id: str) -> list[PieceRecord]:
        """The task's finished, proven pieces, by number."""
        await self._known(task_id)
        return await self._metadata.pieces(task_id)

    async def finish_task(self, task_id: str) -> TaskRecord:
        """Mark SUCCEEDED; TaskIncomplete while a piece is missing or the length unknown."""
        await self._known(task_id)
        task = await self._metadata.finish_task(task_id, self._clock())
        self._seals.seal(task_id, self._files.path(task_id))
        logger.info("task finished", extra={"task_id": task_id, "bytes": task.content_length})
        return task

    async def fail_task(self, task_id: str) -> None:
        """Mark FAILED and remove its pieces and content; a no-op for an unknown task."""
        async with self._holds.lifecycle(self._valid(task_id)):
            await self._discard_content(task_id)
            if not await self._metadata.fail_task(task_id, self._clock()):
                return
        logger.info("task failed", extra={"task_id": task_id})

    async def delete_task(self, task_id: str) -> None:
        """Forget a task and its content; TaskInUse while anyone reads or writes it."""
        async with self._holds.lifecycle(self._valid(task_id)):
            if self.in_use(task_id):
                raise TaskInUse(f"task {task_id} is in use")
            await self._discard_content(task_id)
            if not await self._metadata.delete_task(task_id):
                raise TaskNotFound(f"no task {task_id}")
        logger.info("task deleted", extra={"task_id": task_id})

    async def _discard_content(self, task_id: str) -> None:
        """Remove the content before the rows that describe it.

        On a full disk SQLite cannot even write a delete until space is freed, so the file
        goes first. Until the rows catch up they describe bytes that are gone, so the task
        must be proven again before anything trusts them (which drops every piece).
        """
        self._proven.forget(task_id)
        self._seals.forget(task_id)
        await self._files.remove(task_id)

    async def hash_content(self, task_id: str, algorithm: str) -> str:
        """Hash the whole content (e.g. ``sha256``) in the pool, 1 MiB at a time; hex."""
        if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake"):
            raise InvalidInput(f"unknown hash algorithm {algorithm!r}")
        task = await self._known(task_id)
        return await self._files.hash(task_id, algorithm, task.content_length)

    async def read_piece(self, task_id: str, number: int) -> bytes:
        """A finished piece's bytes, checked against its digest; a mismatch drops the piece."""
        await self._known(task_id)
        piece = await self._metadata.get_piece(task_id, number)
        if piece is None:
            raise PieceNotFound(f"task {task_id} has no piece {number}")
        data, digest = await self._files.read(task_id, piece.offset, piece.length)
        if len(data) != piece.length or digest != piece.digest:
            now = self._clock()
            await drop_pieces(self._metadata, task_id, [number], now, reason="verification on read")
            raise PieceCorrupt(f"piece {number} of task {task_id} no longer matches its digest")
        return data

    async def link_content(self, task_id: str, target: Path) -> None:
        """Hard-link a finished task's content at ``target`` (an absent path), then reseal.

        The link shares the inode, so the store's seal is what keeps a later write through
        ``target`` from being served (see :mod:`swarmfly.storage.seals`).
        """
        task = await self._known(task_id)
        if task.state is not TaskState.SUCCEEDED:
            raise TaskNotRunning(f"task {task_id} is {task.state}, not finished")
        await self._files.link(task_id, target)
        self._seals.seal(task_id, self._files.path(task_id))

    async def open_content(self, task_id: str) -> BinaryIO:
        """The content file opened for reading, for sendfile; the caller closes it."""
        await self._known(task_id)
        return await self._files.open(task_id)

    async def touch(self, task_id: str) -> None:
        """Record an access now, for least-recently-used eviction.

        A no-op for a task that is gone: touching usually follows a transfer, after which GC
        may already have evicted the task, and nobody can act on that.
        """
        if not await self._metadata.touch(self._valid(task_id), self._clock()):
            logger.debug("touch of an unknown task", extra={"task_id": task_id})

    def use(self, task_id: str) -> AbstractContextManager[None]:
        """Hold the task while reading or writing it; GC never evicts a task in use."""
        return self._holds.use(task_id)

    def in_use(self, task_id: str) -> bool:
        return self._holds.in_use(task_id)

    async def tasks(self) -> list[TaskRecord]:
        """Every task, proven or not (for GC and listing; do not serve pieces from these)."""
        return await self._metadata.tasks()

    async def content_bytes(self) -> int:
        """Bytes of content the store holds, by its own account."""
        return await self._metadata.content_bytes()


def _size_on_disk(old: TaskRecord | None, content_length: int | None, reset: bool) -> int:
    """A known length is reserved whole; else what was written so far (none after a reset)."""
    if content_length is not None:
        return content_length
    if old is None or reset:
        return 0
    return old.size_on_disk
