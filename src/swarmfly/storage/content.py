"""Content files: one file per task at ``content/<id[:3]>/<id>``, written piece by piece.

Every blocking call runs in a small pool of threads, and each operation is one hop into it
(open, pwrite, fdatasync, close), never one hop per syscall. A known length is reserved up
front with ``posix_fallocate`` so that a full disk fails before the download starts, not
halfway through it. Writes never create files: the file is made when the task is, so a late
writer of a failed or deleted task cannot leave an orphan behind.

``OSError`` is translated here: ENOSPC and EDQUOT become :class:`StoreFull`, a missing file
:class:`TaskNotFound`, anything else :class:`StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, TypeVar

import xxhash

from swarmfly.digests import piece_digest
from swarmfly.storage.errors import PieceCorrupt, StoreFull, StoreUnavailable, TaskNotFound
from swarmfly.storage.records import PieceRecord

T = TypeVar("T")

#: Reads for hashing go at most this far at a time, so memory stays flat whatever the size.
CHUNK_SIZE = 1024 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def translated_os_errors(subject: str) -> Iterator[None]:
    """Turn the OSError of a content-file operation on ``subject`` into the store's error."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise StoreFull(f"no space for {subject}: {exc.strerror}") from exc
        if exc.errno == errno.ENOENT:
            raise TaskNotFound(f"no content file for {subject}") from exc
        raise StoreUnavailable(f"content of {subject}: {exc}") from exc


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    """``length`` bytes (one piece, so bounded); fewer only at end of file."""
    data = os.pread(fd, length, offset)
    while 0 < len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data


class ContentFiles:
    """The content directory of one store and the threads that touch it."""

    def __init__(self, root: Path, *, fsync: bool, threads: int = 4) -> None:
        self.dir = root / "content"
        self.fsync = fsync
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="swarmfly-content"
        )

    def path(self, task_id: str) -> Path:
        """Where a task's content lives; the caller has validated ``task_id``."""
        return self.dir / task_id[:3] / task_id

    async def _run(self, subject: str, operation: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, subject, operation)

    @staticmethod
    def _call(subject: str, operation: Callable[[], T]) -> T:
        with translated_os_errors(subject):
            return operation()

    async def close(self) -> None:
        """Wait for running file work to end, then let the threads go."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    async def make_dir(self) -> None:
        await self._run(
            "the content directory", lambda: self.dir.mkdir(parents=True, exist_ok=True)
        )

    async def wipe(self) -> None:
        """Remove every content file (``storage.keep: false``)."""
        await self._run(
            "the content directory", lambda: shutil.rmtree(self.dir, ignore_errors=True)
        )

    async def allocate(self, task_id: str, length: int | None) -> bool:
        """Create the task's file, reserving ``length`` bytes; True if the file is new.

        On failure a file this call created is removed again, so a full disk leaves nothing.
        """
        return await self._run(f"task {task_id}", lambda: self._allocate(task_id, length))

    def _allocate(self, task_id: str, length: int | None) -> bool:
        path = self.path(task_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        try:
            if length:
                os.posix_fallocate(fd, 0, length)
            if length is not None and os.fstat(fd).st_size > length:
                os.ftruncate(fd, length)
        except OSError:
            if created:
                path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return created

    async def write_piece(
        self, task_id: str, offset: int, data: bytes, expected: str | None
    ) -> str:
        """Hash a whole piece, check it against ``expected`` before a byte is written, then
        pwrite and (as configured) fdatasync it; returns its xxh3 digest."""
        return await self._run(
            f"task {task_id}", lambda: self._write_piece(task_id, offset, data, expected)
        )

    def _write_piece(self, task_id: str, offset: int, data: bytes, expected: str | None) -> str:
        digest = piece_digest(data)
        if expected is not None and digest != expected.lower():
            raise PieceCorrupt(
                f"piece of task {task_id} at {offset}: xxh3 {digest}, not {expected}"
            )
        self._write(task_id, offset, data, self.fsync)
        return digest

    def _write(self, task_id: str, offset: int, data: bytes | memoryview, sync: bool) -> None:
        fd = os.open(self.path(task_id), os.O_WRONLY)
        try:
            pwrite_all(fd, data, offset)
            if sync:
                os.fdatasync(fd)
        finally:
            os.close(fd)

    async def open_fd(self, task_id: str) -> int:
        """A read-write descriptor of the task's (existing) file; the caller closes it with
        :meth:`close_fd`."""
        return await self._run(f"task {task_id}", lambda: os.open(self.path(task_id), os.O_RDWR))

    async def close_fd(self, fd: int) -> None:
        await self._run("a content file", lambda: os.close(fd))

    async def sync(self, task_id: str) -> None:
        """fdatasync the task's file, if the store is configured to."""
        if self.fsync:
            await self._run(f"task {task_id}", lambda: self._sync(task_id))

    def _sync(self, task_id: str) -> None:
        fd = os.open(self.path(task_id), os.O_WRONLY)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    async def read(self, task_id: str, offset: int, length: int) -> tuple[bytes, str]:
        """The bytes at ``offset`` (fewer if the file is short or gone) and their xxh3 digest."""
        return await self._run(f"task {task_id}", lambda: self._read(task_id, offset, length))

    def _read(self, task_id: str, offset: int, length: int) -> tuple[bytes, str]:
        try:
            fd = os.open(self.path(task_id), os.O_RDONLY)
        except FileNotFoundError:
            return b"", piece_digest(b"")
        try:
            data = _pread_all(fd, length, offset)
        finally:
            os.close(fd)
        return data, piece_digest(data)

    async def verify(self, task_id: str, pieces: Sequence[PieceRecord]) -> list[int]:
        """Re-hash each piece on disk; the numbers of those that do not match (or are missing)."""
        return await self._run(f"task {task_id}", lambda: self._verify(task_id, pieces))

    def _verify(self, task_id: str, pieces: Sequence[PieceRecord]) -> list[int]:
        try:
            fd = os.open(self.path(task_id), os.O_RDONLY)
        except FileNotFoundError:
            return [piece.number for piece in pieces]
        try:
            return [piece.number for piece in pieces if not _piece_matches(fd, piece)]
        finally:
            os.close(fd)

    async def hash(self, task_id: str, algorithm: str, length: int | None) -> str:
        """Hash the first ``length`` bytes (all of them if None) with a hashlib algorithm."""
        return await self._run(f"task {task_id}", lambda: self._hash(task_id, algorithm, length))

    def _hash(self, task_id: str, algorithm: str, length: int | None) -> str:
        hasher = hashlib.new(algorithm)
        with open(self.path(task_id), "rb") as file:
            remaining = length
            while remaining is None or remaining > 0:
                chunk = file.read(CHUNK_SIZE if remaining is None else min(remaining, CHUNK_SIZE))
                if not chunk:
                    break
                hasher.update(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
        return hasher.hexdigest()

    async def open(self, task_id: str) -> BinaryIO:
        """Open the content for reading (the caller closes it), e.g. to sendfile from it."""
        return await self._run(f"task {task_id}", lambda: open(self.path(task_id), "rb"))  # noqa: SIM115

    async def link(self, task_id: str, target: Path) -> None:
        """Hard-link the content at ``target``; the file is made read-only first."""

        def link() -> None:
            path = self.path(task_id)
            path.chmod(0o444)
            os.link(path, target)

        await self._run(f"task {task_id}", link)

    async def remove(self, task_id: str) -> None:
        await self._run(f"task {task_id}", lambda: self.path(task_id).unlink(missing_ok=True))

    async def remove_orphans(self, keep: set[str]) -> list[str]:
        """Delete every content file whose name is not in ``keep``; returns the names removed."""
        return await self._run("the content directory", lambda: self._remove_orphans(keep))

    def _remove_orphans(self, keep: set[str]) -> list[str]:
        removed: list[str] = []
        for path in self.dir.glob("*/*"):
            if path.name not in keep and not path.is_dir():
                with suppress(FileNotFoundError):
                    path.unlink()
                removed.append(path.name)
        return removed


def _piece_matches(fd: int, piece: PieceRecord) -> bool:
    hasher = xxhash.xxh3_64()
    offset, remaining = piece.offset, piece.length
    while remaining > 0:
        chunk = os.pread(fd, min(remaining, CHUNK_SIZE), offset)
        if not chunk:
            return False
        hasher.update(chunk)
        offset += len(chunk)
        remaining -= len(chunk)
    return hasher.hexdigest() == piece.digest
