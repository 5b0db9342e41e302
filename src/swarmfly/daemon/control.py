"""The control API (port 4003): health, metrics, and the local download API ``dfget`` uses.

``POST /api/v1/tasks/download`` fetches a URL through the conductor (so the bytes land in the
shared store, where other peers can get them) and streams them back as they land.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiohttp import web

from swarmfly import idgen
from swarmfly.daemon.appkeys import CONDUCTOR, CONFIG, METRICS, STORE
from swarmfly.daemon.output import OutputNotWritable, fill_output, is_local_caller, open_output
from swarmfly.daemon.serving import send_task
from swarmfly.daemon.tasks import TaskDownload, TaskRequest
from swarmfly.errors import InvalidInput, NotFound, SwarmflyError
from swarmfly.web.bodies import model_response, read_model
from swarmfly.web.errors import status_for
from swarmfly.web.health import add_health_routes
from swarmfly.web.metrics import add_metrics_route
from swarmfly.wire import headers
from swarmfly.wire.daemon import DownloadProgress, DownloadTaskRequest, TaskInfo

logger = logging.getLogger(__name__)


async def download(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, DownloadTaskRequest)
    config = request.app[CONFIG]
    task_request = TaskRequest.build(
        body.url,
        headers=body.headers,
        tag=body.tag or config.proxy.default_tag,
        application=body.application or config.proxy.default_application,
        filtered_query_params=(
            config.proxy.default_filter
            if body.filtered_query_params is None
            else body.filtered_query_params
        ),
        piece_length=body.piece_length,
        digest=body.digest,
        disable_back_to_source=body.disable_back_to_source or config.proxy.disable_back_to_source,
        use_blob_digest=body.use_blob_digest,
    )
    if body.output_path is not None and not is_local_caller(request.remote):
        raise OutputNotWritable("only a caller on the daemon's host may name an output path")
    download_ = request.app[CONDUCTOR].start(task_request)
    record = await download_.wait_started()
    if body.output_path is not None:
        return await _copy_to_output(request, body.output_path, download_)
    response = web.StreamResponse(
        headers={
            headers.TASK_ID: record.id,
            "Content-Type": "application/octet-stream",
        }
    )
    if download_.from_store:
        response.headers[headers.TASK_DOWNLOAD_FINISHED] = "true"
    if record.content_length is not None:
        response.content_length = record.content_length
    await response.prepare(request)
    await send_task(
        request, response, download_, request.app[STORE], request.app[METRICS], api="control"
    )
    return response


async def _copy_to_output(
    request: web.Request, path: str, download_: TaskDownload
) -> web.StreamResponse:
    """Fill the caller's file in the kernel; answer with one progress line per piece."""
    loop = asyncio.get_running_loop()
    target = await loop.run_in_executor(None, open_output, path)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    record = await download_.wait_started()
    response.headers[headers.TASK_ID] = record.id
    await response.prepare(request)
    copied = 0
    try:
        async for copied in fill_output(download_, request.app[STORE], path, target):
            line = DownloadProgress(
                bytes=copied, total=download_.record and download_.record.content_length
            )
            await response.write(line.model_dump_json().encode() + b"\n")
        final = DownloadProgress(
            bytes=copied,
            total=copied,
            done=True,
            task_id=record.id,
            from_store=download_.from_store,
        )
        request.app[METRICS].bytes_served.labels("output").inc(copied)
    except SwarmflyError as exc:
        final = DownloadProgress(bytes=copied, error=str(exc), status=status_for(exc))
    finally:
        await loop.run_in_executor(None, os.close, target)
    await response.write(final.model_dump_json().encode() + b"\n")
    await response.write_eof()
    return response


def _task_id(request: web.Request) -> str:
    task_id = request.match_info["task_id"]
    if not idgen.is_task_id(task_id):
        raise InvalidInput(f"not a task ID: {task_id!r}")
    return task_id


async def stat_task(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    store = request.app[STORE]
    record = await store.get_task(task_id)
    if record is None:
        raise NotFound(f"no task {task_id}")
    pieces = await store.pieces(task_id)
    info = TaskInfo(
        task_id=record.id,
        url=record.url,
        state=record.state.value,
        content_length=record.content_length,
        piece_length=record.piece_length,
        finished_pieces=len(pieces),
        digest=record.digest,
    )
    return model_response(info)


async def delete_task(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    await request.app[STORE].delete_task(task_id)
    logger.info("task deleted", extra={"task_id": task_id})
    return web.json_response({"task_id": task_id, "deleted": True})


def add_control_routes(app: web.Application) -> None:
    add_health_routes(app)
    add_metrics_route(app, app[METRICS].registry)
    app.router.add_post("/api/v1/tasks/download", download)
    app.router.add_get("/api/v1/tasks/{task_id}", stat_task)
    app.router.add_delete("/api/v1/tasks/{task_id}", delete_task)
