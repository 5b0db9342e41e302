"""Put a task into a file on this host without sending its bytes over a socket.

``dfget`` on the same host names a file it created; the daemon hard-links the finished
content over it, or copies the pieces in the kernel (``copy_file_range``) as they land. The
last piece of a task with a digest is released only after the task is verified, so the file
is never complete with wrong bytes.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from swarmfly.daemon.tasks import TaskDownload
from swarmfly.errors import Forbidden, StorageFull, SwarmflyError
from swarmfly.storage import PieceStore

logger = logging.getLogger(__name__)

_COPY_STEP = 64 << 20


class OutputNotWritable(Forbidden):
    """The daemon cannot write the caller's path (another host, user or mount namespace)."""


def is_local_caller(remote: str | None) -> bool:
    """Only a caller on this host may ask the daemon to write one of its paths."""
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def open_output(path: str) -> int:
    """Open the file the caller created; refuse anything that is not an absolute, existing file."""
    if not os.path.isabs(path):
        raise OutputNotWritable(f"the output path must be absolute: {path!r}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputNotWritable(f"the daemon cannot write {path}: {exc.strerror}") from exc
    if not Path(f"/proc/self/fd/{fd}").resolve().is_file():
        os.close(fd)
        raise OutputNotWritable(f"not a regular file: {path}")
    return fd


def _copy(source: BinaryIO, target: int, offset: int, count: int) -> None:
    """Copy bytes at ``offset`` in the kernel: copy_file_range, or sendfile across filesystems."""
    end = offset + count
    try:
        while offset < end:
            offset += _copy_step(source.fileno(), target, offset, min(_COPY_STEP, end - offset))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull("no space left to write the output file") from exc
        raise SwarmflyError(f"cannot write the output file: {exc.strerror}") from exc


def _copy_step(source: int, target: int, offset: int, count: int) -> int:
    try:
        copied = os.copy_file_range(source, target, count, offset, offset)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        # Different filesystems: sendfile writes at the target's position, so set it first.
        os.lseek(target, offset, os.SEEK_SET)
        copied = os.sendfile(target, source, offset, count)
    if copied == 0:
        raise SwarmflyError(f"the content file ended at byte {offset}")
    return copied


async def fill_output(
    download: TaskDownload, store: PieceStore, path: str, target: int
) -> AsyncIterator[int]:
    """Fill the caller's file ``path`` (open as ``target``); yields the bytes done so far.

    On the store's filesystem the finished content is hard-linked over ``path``: nothing is
    copied at all (Dragonfly does the same; the store's seal keeps a later write through the
    link from being served). Elsewhere, or when the link is refused, pieces are copied in the
    kernel as they land.
    """
    loop = asyncio.get_running_loop()
    same_disk = await loop.run_in_executor(None, _same_filesystem, path, store.root)
    done = 0
    with store.use(download.task_id):
        if same_disk:
            async for piece in download.pieces_in_order(0, None):
                done = piece.offset + piece.length
                yield done
            await download.wait_done()
            if await _link_over(store, download.task_id, path):
                return
            logger.info("hard link refused; copying", extra={"task_id": download.task_id})
        async for done in _copy_pieces(download, store, target):
            yield done


def _same_filesystem(path: str, root: Path) -> bool:
    try:
        return os.stat(os.path.dirname(path)).st_dev == os.stat(root).st_dev
    except OSError:
        return False


async def _link_over(store: PieceStore, task_id: str, path: str) -> bool:
    """Put a hard link to the content at ``path`` (atomically replacing the caller's file)."""
    staging = Path(f"{path}.{secrets.token_hex(4)}.link")
    try:
        await store.link_content(task_id, staging)
    except SwarmflyError:
        return False
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _replace, staging, path)


def _replace(staging: Path, path: str) -> bool:
    """Move the link to ``path``: unlink the caller's empty file first, then rename.

    Not ``rename`` over it: ext4 (``auto_da_alloc``) then starts writeback of every dirty
    page of the file renamed into place, here the whole just-downloaded task, and the rename
    blocks on that (0.5 s and more per GiB on this VM's disk). The caller waits for our word
    before it looks at ``path``, so the moment without a file there is never seen.
    """
    try:
        os.unlink(path)
        os.rename(staging, path)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        logger.warning("could not link the output into place", extra={"error": exc.strerror})
        return False
    return True


async def _copy_pieces(
    download: TaskDownload, store: PieceStore, target: int
) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    content: BinaryIO | None = None
    try:
        async for piece in download.pieces_in_order(0, None):
            if content is None:
                content = await store.open_content(download.task_id)
            await loop.run_in_executor(None, _copy, content, target, piece.offset, piece.length)
            yield piece.offset + piece.length
    finally:
        if content is not None:
            await loop.run_in_executor(None, content.close)
