"""Seed peer mode: take download orders from the scheduler on the control API.

``POST /api/v1/seed/tasks`` (a :class:`SeedOrder`) starts the task back-to-source under the
peer ID the scheduler already hands out as a parent, so the first peers can follow this
seed's pieces while they land. The answer comes at once (202); progress is reported to the
scheduler like any other peer's, and ``GET /api/v1/seed/tasks/{task_id}`` tells the state.
"""

from __future__ import annotations

import logging

from aiohttp import web

from swarmfly.daemon.appkeys import CONDUCTOR, CONFIG
from swarmfly.daemon.tasks import TaskRequest
from swarmfly.errors import Conflict
from swarmfly.idgen import DEFAULT_FILTERED_QUERY_PARAMS
from swarmfly.logs import redacted_url
from swarmfly.web.bodies import model_response, read_model
from swarmfly.wire.scheduler import SeedOrder, SeedOrderAccepted

logger = logging.getLogger(__name__)


def task_request_from_order(order: SeedOrder) -> TaskRequest:
    """The order as a task request; its ID must be the one the scheduler computed."""
    spec = order.task
    request = TaskRequest.build(
        spec.url,
        headers=spec.headers,
        tag=spec.tag,
        application=spec.application,
        filtered_query_params=(
            DEFAULT_FILTERED_QUERY_PARAMS
            if spec.filtered_query_params is None
            else spec.filtered_query_params
        ),
        piece_length=spec.piece_length,
        digest=spec.digest,
        use_blob_digest=spec.use_blob_digest,
        peer_id=order.peer_id,
        is_seed_order=True,
    )
    if request.task_id != spec.task_id:
        raise Conflict(f"the order names task {spec.task_id}, but its URL makes {request.task_id}")
    return request


async def accept_order(request: web.Request) -> web.Response:
    if not request.app[CONFIG].seed_peer.enable:
        raise Conflict("this daemon is not a seed peer (seedPeer.enable is false)")
    order = await read_model(request, SeedOrder)
    task_request = task_request_from_order(order)
    download = request.app[CONDUCTOR].start(task_request)
    state = "succeeded" if download.finished else "running"
    logger.info(
        "seed order accepted",
        extra={
            "task_id": task_request.task_id,
            "peer_id": order.peer_id,
            "url": redacted_url(order.task.url),
        },
    )
    answer = SeedOrderAccepted(task_id=task_request.task_id, peer_id=order.peer_id, state=state)
    return model_response(answer, status=202)


def add_seed_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/seed/tasks", accept_order)
