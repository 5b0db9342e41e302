"""Send a task's bytes to an HTTP client as its pieces land, with the kernel's sendfile.

The control API and the proxy both answer with :func:`send_task`: headers go out as soon as
the length is known, each piece follows the moment it is stored, in order, straight from the
content file (``loop.sendfile``: no copy through Python). If the download fails after the
headers went out, the connection is cut, so the client sees a failed transfer, never a
short or wrong body that looks complete.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import BinaryIO

from aiohttp import web

from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.tasks import TaskDownload
from swarmfly.errors import SwarmflyError, Unavailable
from swarmfly.ratelimit import RateLimiter, throttle
from swarmfly.storage import PieceStore

logger = logging.getLogger(__name__)

_FALLBACK_CHUNK = 1 << 20


class ClientGone(Unavailable):
    """The client closed the connection before the body was sent."""


async def send_task(
    request: web.Request,
    response: web.StreamResponse,
    download: TaskDownload,
    store: PieceStore,
    metrics: DaemonMetrics,
    *,
    api: str,
    start: int = 0,
    end: int | None = None,
) -> int:
    """Stream bytes ``start..end`` (inclusive; ``None``: to the end) of the task.

    ``response`` must be prepared by the caller, with its status and headers set. Returns the
    bytes sent.
    """
    record = await download.wait_started()
    piece_length = record.piece_length
    last_piece = None if end is None else end // piece_length
    sent = 0
    content: BinaryIO | None = None
    with store.use(download.task_id):
        try:
            if download.finished and record.content_length is not None:
                # Whole in the store: one sendfile for the range, as a static file server does.
                stop = record.content_length if end is None else min(end + 1, record.content_length)
                content = await store.open_content(download.task_id)
                if stop > start:
                    await _send_range(request, response, content, start, stop - start)
                    sent = stop - start
                    metrics.bytes_served.labels(api).inc(sent)
                await response.write_eof()
                return sent
            async for piece in download.pieces_in_order(start // piece_length, last_piece):
                if content is None:
                    content = await store.open_content(download.task_id)
                first = max(start, piece.offset)
                stop = piece.offset + piece.length
                if end is not None:
                    stop = min(end + 1, stop)
                if stop > first:
                    await _send_range(request, response, content, first, stop - first)
                    sent += stop - first
                    metrics.bytes_served.labels(api).inc(stop - first)
        except SwarmflyError as exc:
            abort(request)
            logger.warning(
                "transfer cut",
                extra={"task_id": download.task_id, "bytes": sent, "error": str(exc)},
            )
            raise
        finally:
            if content is not None:
                await asyncio.get_running_loop().run_in_executor(None, content.close)
    await response.write_eof()
    return sent


async def send_piece_range(
    request: web.Request,
    response: web.StreamResponse,
    store: PieceStore,
    task_id: str,
    offset: int,
    count: int,
    *,
    limiter: RateLimiter | None,
) -> None:
    """Send finished bytes of a task to a peer, within the upload bandwidth limit."""
    content = await store.open_content(task_id)
    try:
        step = count if limiter is None else _FALLBACK_CHUNK
        end = offset + count
        while offset < end:
            size = min(step, end - offset)
            await throttle(limiter, size)
            await _send_range(request, response, content, offset, size)
            offset += size
    finally:
        await asyncio.get_running_loop().run_in_executor(None, content.close)
    await response.write_eof()


async def _send_range(
    request: web.Request,
    response: web.StreamResponse,
    content: BinaryIO,
    offset: int,
    count: int,
) -> None:
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ClientGone("the client closed the connection")
    loop = asyncio.get_running_loop()
    try:
        await loop.sendfile(transport, content, offset, count, fallback=False)
        return
    except NotImplementedError:
        pass  # an event loop without sendfile (uvloop): copy through Python instead
    except (ConnectionError, RuntimeError) as exc:
        raise ClientGone(f"the client closed the connection: {exc}") from exc
    while count > 0:
        size = min(count, _FALLBACK_CHUNK)
        chunk = await loop.run_in_executor(None, _pread, content, size, offset)
        await response.write(chunk)
        offset += size
        count -= size


def _pread(content: BinaryIO, size: int, offset: int) -> bytes:
    return os.pread(content.fileno(), size, offset)


def abort(request: web.Request) -> None:
    """Cut the client's connection: a failed body must never look complete."""
    transport = request.transport
    if transport is not None:
        transport.abort()
