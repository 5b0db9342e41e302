"""The control API (port 4003): health, metrics, and the local download API ``dfget`` uses.

``POST /api/v1/tasks/download`` fetches a URL through the conductor (so the bytes land in the
shared store, where other peers can get them) and streams them back as they land.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from swarmfly import idgen
from swarmfly.daemon.appkeys import CONDUCTOR, CONFIG, METRICS, STORE
from swarmfly.daemon.serving import send_task
from swarmfly.daemon.tasks import TaskRequest
from swarmfly.errors import InvalidInput, NotFound
from swarmfly.web.health import add_health_routes
from swarmfly.web.metrics import add_metrics_route
from swarmfly.wire import headers
from swarmfly.wire.daemon import DownloadTaskRequest, TaskInfo

logger = logging.getLogger(__name__)


async def download(request: web.Request) -> web.StreamResponse:
    try:
        body = DownloadTaskRequest.model_validate_json(await request.text())
    except ValidationError as exc:
        raise InvalidInput(f"bad download request: {exc.errors()[0]['msg']}") from exc
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
    download_ = request.app[CONDUCTOR].start(task_request)
    record = await download_.wait_started()
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
    return web.json_response(text=info.model_dump_json())


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
