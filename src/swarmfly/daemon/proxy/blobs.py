"""The store path: a GET the rules send through the piece store, and a HEAD on a stored blob.

A GET joins (or starts) the conductor's single-flight download of its task and streams the
task's pieces as they land, with sendfile, in order; the last piece of a blob is held back
until the blob's digest checks, so a mismatch cuts the connection before the last byte.

``Range`` is answered with a 206 from the same shared download when the task is stored or
already downloading, or when the download costs the client at most one piece of waiting:
the range starts within the first piece, or the store already holds the pieces before it
(containerd resuming a pull that was cut: the conductor resumes the task from its first
missing piece, and the blob lands for everybody). Any other range is relayed to the source as
is, since making the client wait for bytes it already has would defeat its resume; only the
bytes asked for cross the network then, and nothing is stored.

Bytes that this request did not fetch with its own credentials (a store hit, or another
request's download) go out only after :class:`~.access.AccessChecker` says the upstream would
serve them to this client; otherwise the request is relayed and the upstream answers it.
When the store cannot take the task (a full disk), the request is streamed straight through,
verified on the way, rather than failing the pull.
"""

from __future__ import annotations

import logging

from aiohttp import web

from swarmfly.daemon.proxy.context import Outcome, ProxyContext, Served
from swarmfly.daemon.proxy.passthrough import relay
from swarmfly.daemon.proxy.routing import Route, task_request
from swarmfly.daemon.serving import send_task
from swarmfly.daemon.tasks import TaskDownload
from swarmfly.digests import Digest
from swarmfly.errors import InvalidInput, StorageFull, SwarmflyError, UpstreamError
from swarmfly.idgen import MIN_PIECE_LENGTH, piece_count
from swarmfly.logs import redacted_url
from swarmfly.source import (
    ByteRange,
    ContentRange,
    RangeSpec,
    format_content_range,
    parse_range_spec,
)
from swarmfly.storage import TaskRecord, TaskState
from swarmfly.wire import headers as names

logger = logging.getLogger(__name__)


def requested_range(request: web.Request) -> RangeSpec | None:
    """The single range asked for; a malformed or multiple one is ignored (RFC 9110 §14.2)."""
    value = request.headers.get("Range")
    if value is None:
        return None
    try:
        return parse_range_spec(value)
    except InvalidInput:
        return None


def starts_in_first_piece(spec: RangeSpec) -> bool:
    """Whether serving ``spec`` from a whole download makes its client wait at most a piece."""
    return isinstance(spec, ByteRange) and spec.start < MIN_PIECE_LENGTH


async def get_blob(request: web.Request, route: Route, ctx: ProxyContext) -> Served:
    """Answer a store-path GET (see the module docstring for the choices)."""
    task = task_request(route, request.headers.items(), ctx.config)
    spec = requested_range(request)
    if spec is not None and await _range_goes_to_source(ctx, task.task_id, spec):
        return await _relay(request, route, ctx, task.task_id), Outcome.PASSTHROUGH
    joined = ctx.conductor.current(task.task_id) is not None
    download = ctx.conductor.start(task)
    try:
        record = await download.wait_started()
    except StorageFull as exc:
        logger.warning(
            "store full, streaming straight through",
            extra={"task_id": task.task_id, "error": str(exc)},
        )
        verify = route.blob if spec is None else None
        return await _relay(request, route, ctx, task.task_id, verify), Outcome.FALLBACK
    except UpstreamError:
        if not joined:
            raise  # the upstream's answer to exactly this request: passed through
        # Another client's download failed upstream; this client's credentials may do better.
        return await _relay(request, route, ctx, task.task_id), Outcome.PASSTHROUGH
    shared = joined or download.from_store
    if shared and not await ctx.access.allows(
        route.url, is_blob=route.blob is not None, headers=request.headers.items()
    ):
        return await _relay(request, route, ctx, task.task_id), Outcome.DENIED
    if download.from_store:
        outcome = Outcome.STORE_HIT
    else:
        outcome = Outcome.JOINED if joined else Outcome.DOWNLOADED
    return await _send(request, route, ctx, download, record, spec), outcome


async def _range_goes_to_source(ctx: ProxyContext, task_id: str, spec: RangeSpec) -> bool:
    """Whether a range is relayed rather than served from the task's (shared) download.

    It is, when serving it from the task would make the client wait for more than a piece of
    bytes it did not ask for: nobody is downloading the task, the store does not hold it, and
    the pieces the store does hold (a pull cut mid-blob) end more than a piece before the range.
    """
    if starts_in_first_piece(spec) or ctx.conductor.current(task_id) is not None:
        return False
    record = await ctx.store.get_task(task_id)
    if record is None or record.state == TaskState.FAILED:
        return True
    if record.state == TaskState.SUCCEEDED:
        return False
    if record.content_length is None or not isinstance(spec, ByteRange):
        return True
    have = {piece.number for piece in await ctx.store.pieces(task_id)}
    count = piece_count(record.content_length, record.piece_length)
    first_missing = next((n for n in range(count) if n not in have), None)
    if first_missing is None:
        return False
    return spec.start - first_missing * record.piece_length >= MIN_PIECE_LENGTH


async def _relay(
    request: web.Request,
    route: Route,
    ctx: ProxyContext,
    task_id: str,
    verify: Digest | None = None,
) -> web.StreamResponse:
    extra = {names.TASK_ID: task_id}
    return await relay(
        request, route.url, ctx.upstream, ctx.metrics.proxy, extra=extra, verify=verify
    )


async def _send(
    request: web.Request,
    route: Route,
    ctx: ProxyContext,
    download: TaskDownload,
    record: TaskRecord,
    spec: RangeSpec | None,
) -> web.StreamResponse:
    """Stream the task (or its range) as pieces land; a failure cuts the connection."""
    part: ContentRange | None = None
    if spec is not None and record.content_length is not None:
        part = spec.resolve(record.content_length)
    response = web.StreamResponse(status=200 if part is None else 206)
    response.headers.extend(_task_headers(route, record, download.from_store))
    if part is not None:
        response.headers["Content-Range"] = format_content_range(part)
        response.content_length = part.length
    elif record.content_length is not None:
        response.content_length = record.content_length
    await response.prepare(request)
    try:
        sent = await send_task(
            request,
            response,
            download,
            ctx.store,
            ctx.metrics,
            api="proxy",
            start=0 if part is None else part.start,
            end=None if part is None else part.end,
        )
    except SwarmflyError as exc:  # send_task has cut the connection
        logger.info(
            "proxy transfer cut",
            extra={"task_id": record.id, "url": redacted_url(route.url), "error": str(exc)},
        )
        return response
    ctx.metrics.proxy.bytes.labels("store").inc(sent)
    if download.from_store:
        ctx.metrics.proxy.store_hits.inc()
    return response


def _task_headers(route: Route, record: TaskRecord, from_store: bool) -> list[tuple[str, str]]:
    pairs = [
        ("Content-Type", "application/octet-stream"),
        ("Accept-Ranges", "bytes"),
        (names.TASK_ID, record.id),
    ]
    if route.blob is not None:
        pairs += [
            ("Docker-Content-Digest", str(route.blob)),
            ("Etag", f'"{route.blob}"'),
            ("Docker-Distribution-Api-Version", "registry/2.0"),
        ]
    if from_store:
        pairs.append((names.TASK_DOWNLOAD_FINISHED, "true"))
    return pairs


async def head_blob(request: web.Request, route: Route, ctx: ProxyContext) -> Served:
    """A HEAD on a blob: answered from the store when it holds the blob whole, else relayed."""
    task = task_request(route, request.headers.items(), ctx.config)
    record = await ctx.store.get_task(task.task_id)
    stored = record is not None and record.state == TaskState.SUCCEEDED
    if not stored or not await ctx.access.allows(
        route.url, is_blob=True, headers=request.headers.items()
    ):
        response = await relay(request, route.url, ctx.upstream, ctx.metrics.proxy)
        return response, Outcome.PASSTHROUGH
    assert record is not None
    response = web.StreamResponse(status=200)
    response.headers.extend(_task_headers(route, record, from_store=True))
    response.content_length = record.content_length
    await response.prepare(request)
    await response.write_eof()
    ctx.metrics.proxy.store_hits.inc()
    return response, Outcome.STORE_HIT
