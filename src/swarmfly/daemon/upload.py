"""The piece server (port 4000): other peers ask it which pieces a task has, and fetch them.

Only finished, verified pieces are listed or served. A piece goes out with the kernel's
sendfile and its xxh3 digest in a header, so the receiver checks it before storing it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from swarmfly import idgen, units
from swarmfly.daemon.appkeys import CONDUCTOR, LISTINGS, METRICS, STORE, UPLOAD_LIMITS
from swarmfly.daemon.serving import send_piece_range
from swarmfly.errors import InvalidInput, NotFound
from swarmfly.source import RangeNotSatisfiable, parse_range_header
from swarmfly.storage import PieceRecord, TaskRecord, TaskState
from swarmfly.web.bodies import model_response
from swarmfly.web.health import add_health_routes
from swarmfly.wire import headers
from swarmfly.wire.pieces import PieceInfo, PieceList

MAX_WAIT_SECONDS = 60.0


def _task_id(request: web.Request) -> str:
    task_id = request.match_info["task_id"]
    if not idgen.is_task_id(task_id):
        raise InvalidInput(f"not a task ID: {task_id!r}")
    return task_id


async def _task(request: web.Request, task_id: str) -> TaskRecord:
    record = await request.app[STORE].get_task(task_id)
    if record is None or record.state == TaskState.FAILED:
        raise NotFound(f"no task {task_id}")
    return record


async def list_pieces(request: web.Request) -> web.Response:
    """``GET /tasks/{task_id}/pieces[?known=N&wait=30s]``.

    With ``known`` and ``wait``, the answer waits (up to ``wait``) until the task has more than
    ``known`` finished pieces, or ends: a peer follows a download without polling fast.
    """
    task_id = _task_id(request)
    known = _int_query(request, "known", -1)
    wait = units.parse_duration(request.query.get("wait", "0")).total_seconds()
    wait = min(wait, MAX_WAIT_SECONDS)
    download = request.app[CONDUCTOR].current(task_id)
    waiting = download is not None and (download.record is None or len(download.pieces) <= known)
    if download is not None and waiting and wait > 0:
        # A download in progress (a seed peer just ordered, say) is followed as it lands.
        try:
            async with asyncio.timeout(wait):
                await download.wait_more_pieces(known)
        except TimeoutError:
            pass
    download = request.app[CONDUCTOR].current(task_id)
    if download is not None and download.record is not None and download.error is None:
        body = request.app[LISTINGS].body(download)
        return web.Response(body=body, content_type="application/json")
    record = await _task(request, task_id)
    pieces = await request.app[STORE].pieces(task_id)
    listing = PieceList(
        task_id=task_id,
        state=record.state.value,
        content_length=record.content_length,
        piece_length=record.piece_length,
        pieces=[
            PieceInfo(number=p.number, offset=p.offset, length=p.length, digest=p.digest)
            for p in pieces
        ],
    )
    return model_response(listing)


def _int_query(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number, not {text!r}") from exc


async def get_piece(request: web.Request) -> web.StreamResponse:
    """``GET /tasks/{task_id}/pieces/{number}``: one finished piece's bytes."""
    task_id = _task_id(request)
    number = _piece_number(request)
    download = request.app[CONDUCTOR].current(task_id)
    if download is not None and download.error is None and number in download.pieces:
        piece = download.pieces[number]  # landed, so verified and in the store
    else:
        await _task(request, task_id)
        piece = await _finished_piece(request, task_id, number)
    with request.app[UPLOAD_LIMITS].first_copy(task_id, number):
        return await _send_piece(request, task_id, piece)


async def _send_piece(request: web.Request, task_id: str, piece: PieceRecord) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            headers.TASK_ID: task_id,
            headers.PIECE_NUMBER: str(piece.number),
            headers.PIECE_OFFSET: str(piece.offset),
            headers.PIECE_DIGEST: f"xxh3:{piece.digest}",
            "Content-Type": "application/octet-stream",
        }
    )
    response.content_length = piece.length
    await _send(request, response, task_id, piece.offset, piece.length)
    return response


def _piece_number(request: web.Request) -> int:
    text = request.match_info["number"]
    if not text.isdigit():
        raise InvalidInput(f"not a piece number: {text!r}")
    return int(text)


async def _finished_piece(request: web.Request, task_id: str, number: int) -> PieceRecord:
    for piece in await request.app[STORE].pieces(task_id):
        if piece.number == number:
            return piece
    raise NotFound(f"task {task_id} has no finished piece {number}")


async def get_range(request: web.Request) -> web.StreamResponse:
    """``GET /download/{prefix}/{task_id}`` with ``Range``: Dragonfly's peer download URL.

    Only bytes covered by finished pieces are served; anything else is a 416.
    """
    task_id = _task_id(request)
    record = await _task(request, task_id)
    pieces = await request.app[STORE].pieces(task_id)
    available = _contiguous_prefix(pieces)
    header = request.headers.get("Range")
    if header is None:
        if record.state != TaskState.SUCCEEDED:
            raise RangeNotSatisfiable(
                "the task is not complete; ask for a range of finished pieces"
            )
        start, end = 0, available - 1
    else:
        byte_range = parse_range_header(header, available)
        start, end = byte_range.start, byte_range.end
    if not _covered(pieces, start, end):
        raise RangeNotSatisfiable(
            f"bytes {start}-{end} are not all in finished pieces", total_length=available
        )
    status = 206 if header is not None else 200
    response = web.StreamResponse(status=status, headers={headers.TASK_ID: task_id})
    response.content_length = end - start + 1
    if header is not None:
        total = record.content_length if record.content_length is not None else "*"
        response.headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    await _send(request, response, task_id, start, end - start + 1)
    return response


def _contiguous_prefix(pieces: list[PieceRecord]) -> int:
    end = 0
    for piece in pieces:
        if piece.offset != end:
            break
        end += piece.length
    return end


def _covered(pieces: list[PieceRecord], start: int, end: int) -> bool:
    position = start
    for piece in pieces:
        if piece.offset <= position < piece.offset + piece.length:
            position = piece.offset + piece.length
        if position > end:
            return True
    return position > end


async def _send(
    request: web.Request, response: web.StreamResponse, task_id: str, offset: int, count: int
) -> None:
    limits = request.app[UPLOAD_LIMITS]
    store = request.app[STORE]
    async with limits.slot():
        with store.use(task_id):
            await response.prepare(request)
            await send_piece_range(
                request, response, store, task_id, offset, count, limiter=limits.rate_limiter
            )
            request.app[METRICS].bytes_served.labels("upload").inc(count)
    await store.touch(task_id)


def add_upload_routes(app: web.Application) -> None:
    add_health_routes(app)
    app.router.add_get("/tasks/{task_id}/pieces", list_pieces)
    app.router.add_get("/tasks/{task_id}/pieces/{number}", get_piece)
    app.router.add_get("/download/{prefix}/{task_id}", get_range)
