"""The manager's internal API for schedulers (``wire/manager.py``): pydantic in, pydantic out.
Handlers only translate; the registry and the queue decide; errors are rendered by the
middleware (``NotFound`` for a scheduler to register again, ``Conflict`` for work it lost)."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from aiohttp import web

from swarmfly.errors import InvalidInput
from swarmfly.manager.appkeys import ARRIVALS, METRICS, QUEUE, SCHEDULERS
from swarmfly.web.bodies import model_response, read_model
from swarmfly.wire.manager import (
    CLAIM_PATH,
    SCHEDULER_ID_PARAM,
    SCHEDULER_KEEPALIVE_PATH,
    SCHEDULERS_PATH,
    WORK_PROGRESS_PATH,
    WORK_RESULT_PATH,
    ClaimWork,
    RegisterScheduler,
    SchedulerKeepAlive,
    WorkClaim,
    WorkProgress,
    WorkResult,
)


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise InvalidInput(f"{name} must be a positive integer, not {text!r}")
    return int(text)


def _caller(request: web.Request) -> int | None:
    """The scheduler that sends a progress or result call, when it says so."""
    text = request.query.get(SCHEDULER_ID_PARAM)
    return None if text is None else _int(text, SCHEDULER_ID_PARAM)


async def register_scheduler(request: web.Request) -> web.Response:
    message = await read_model(request, RegisterScheduler)
    return model_response(await request.app[SCHEDULERS].register(message))


async def keepalive(request: web.Request) -> web.Response:
    message = await read_model(request, SchedulerKeepAlive)
    scheduler_id = _int(request.match_info["scheduler_id"], "scheduler_id")
    await request.app[SCHEDULERS].keepalive(scheduler_id, message)
    return web.Response(status=204)


async def claim(request: web.Request) -> web.Response:
    message = await read_model(request, ClaimWork)
    await request.app[SCHEDULERS].check(message.scheduler_id, message.cluster_id)
    loop = asyncio.get_running_loop()
    until = loop.time() + message.wait_seconds
    while True:
        arrived = request.app[ARRIVALS].event(message.cluster_id)
        work = await request.app[QUEUE].claim(message.scheduler_id, message.cluster_id)
        left = until - loop.time()
        if work is not None or left <= 0:
            break
        # Nothing yet: wait for work to be created here, or for the wait to end (work made
        # by another manager, or a lapsed lease, is found by the claim after it).
        with suppress(TimeoutError), request.app[METRICS].claims_waiting.track_inprogress():
            async with asyncio.timeout(left):
                await arrived.wait()
    request.app[METRICS].claims.labels(outcome="empty" if work is None else "claimed").inc()
    return model_response(WorkClaim(work=work))


async def progress(request: web.Request) -> web.Response:
    message = await read_model(request, WorkProgress)
    work_id = _int(request.match_info["work_id"], "work_id")
    lease = await request.app[QUEUE].progress(work_id, message, scheduler_id=_caller(request))
    return model_response(lease)


async def result(request: web.Request) -> web.Response:
    message = await read_model(request, WorkResult)
    work_id = _int(request.match_info["work_id"], "work_id")
    reached = await request.app[QUEUE].finish(work_id, message, scheduler_id=_caller(request))
    metrics = request.app[METRICS]
    metrics.work_results.labels(outcome="success" if message.success else "failure").inc()
    if reached is not None:
        metrics.jobs_finished.labels(state=reached.value).inc()
    return web.Response(status=204)


def add_internal_routes(app: web.Application) -> None:
    app.router.add_post(SCHEDULERS_PATH, register_scheduler)
    app.router.add_post(SCHEDULER_KEEPALIVE_PATH, keepalive)
    app.router.add_post(CLAIM_PATH, claim)
    app.router.add_post(WORK_PROGRESS_PATH, progress)
    app.router.add_post(WORK_RESULT_PATH, result)
