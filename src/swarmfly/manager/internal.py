"""The manager's internal API for schedulers (``wire/manager.py``): pydantic in, pydantic out.
Handlers only translate; the registry and the queue decide; errors are rendered by the
middleware (``NotFound`` for a scheduler to register again, ``Conflict`` for work it lost)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from swarmfly.errors import InvalidInput
from swarmfly.manager.appkeys import METRICS, QUEUE, SCHEDULERS
from swarmfly.wire.manager import (
    CLAIM_PATH,
    SCHEDULER_ID_PARAM,
    SCHEDULER_KEEPALIVE_PATH,
    SCHEDULERS_PATH,
    WORK_PROGRESS_PATH,
    WORK_RESULT_PATH,
    ClaimWork,
    Message,
    RegisterScheduler,
    SchedulerKeepAlive,
    WorkClaim,
    WorkProgress,
    WorkResult,
)

M = TypeVar("M", bound=Message)


async def _body(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise InvalidInput(f"bad {model.__name__}: {where}: {error['msg']}") from exc


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise InvalidInput(f"{name} must be a positive integer, not {text!r}")
    return int(text)


def _caller(request: web.Request) -> int | None:
    """The scheduler that sends a progress or result call, when it says so."""
    text = request.query.get(SCHEDULER_ID_PARAM)
    return None if text is None else _int(text, SCHEDULER_ID_PARAM)


def _answer(message: Message) -> web.Response:
    return web.Response(body=message.model_dump_json(), content_type="application/json")


async def register_scheduler(request: web.Request) -> web.Response:
    message = await _body(request, RegisterScheduler)
    return _answer(await request.app[SCHEDULERS].register(message))


async def keepalive(request: web.Request) -> web.Response:
    message = await _body(request, SchedulerKeepAlive)
    scheduler_id = _int(request.match_info["scheduler_id"], "scheduler_id")
    await request.app[SCHEDULERS].keepalive(scheduler_id, message)
    return web.Response(status=204)


async def claim(request: web.Request) -> web.Response:
    message = await _body(request, ClaimWork)
    await request.app[SCHEDULERS].check(message.scheduler_id, message.cluster_id)
    work = await request.app[QUEUE].claim(message.scheduler_id, message.cluster_id)
    request.app[METRICS].claims.labels(outcome="empty" if work is None else "claimed").inc()
    return _answer(WorkClaim(work=work))


async def progress(request: web.Request) -> web.Response:
    message = await _body(request, WorkProgress)
    work_id = _int(request.match_info["work_id"], "work_id")
    lease = await request.app[QUEUE].progress(work_id, message, scheduler_id=_caller(request))
    return _answer(lease)


async def result(request: web.Request) -> web.Response:
    message = await _body(request, WorkResult)
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
