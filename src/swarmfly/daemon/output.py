"""Copy a task into a file on this host, in the kernel, as its pieces land.

``dfget`` on the same host names a file it created; the daemon fills it with
``copy_file_range`` from the content file: no bytes cross a socket or pass through Python.
The last piece of a task with a digest is copied only after the task is verified, so the file
is never complete with wrong bytes.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from swarmfly.daemon.tasks import TaskDownload
from swarmfly.errors import Forbidden, StorageFull, SwarmflyError
from swarmfly.storage import PieceStore

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


async def copy_task(download: TaskDownload, store: PieceStore, target: int) -> AsyncIterator[int]:
    """Copy each piece into ``target`` as it lands; yields the bytes copied so far."""
    loop = asyncio.get_running_loop()
    copied = 0
    content: BinaryIO | None = None
    with store.use(download.task_id):
        try:
            async for piece in download.pieces_in_order(0, None):
                if content is None:
                    content = await store.open_content(download.task_id)
                await loop.run_in_executor(None, _copy, content, target, piece.offset, piece.length)
                copied += piece.length
                yield copied
        finally:
            if content is not None:
                await loop.run_in_executor(None, content.close)
