"""The scheduler's application. Its resources open in cleanup contexts, in this order: the
client session for seed orders, the service (which owns the seed orders in flight), the
janitor; they close in reverse, so no sweep or order outlives what it uses."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.appkeys import CONFIG, METRICS, SERVICE, SESSION
from swarmfly.scheduler.handlers import add_scheduler_routes
from swarmfly.scheduler.janitor import HostJanitor
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.service import SchedulerService
from swarmfly.web.errors import error_middleware
from swarmfly.web.health import add_health_routes
from swarmfly.web.metrics import add_metrics_route
from swarmfly.wire.scheduler_client import SeedClient

#: Every message the scheduler takes is small JSON.
_MAX_BODY = 1 << 20

Clock = Callable[[], float]
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


async def _session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[SESSION] = session
        yield


def _service(clock: Clock, rng: random.Random | None) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        service = SchedulerService(
            app[CONFIG], SeedClient(app[SESSION]), app[METRICS], clock=clock, rng=rng
        )
        async with service.running():
            app[SERVICE] = service
            yield

    return ctx


def _janitor(clock: Clock) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        janitor = HostJanitor(
            app[SERVICE].state,
            app[METRICS],
            host_ttl=app[CONFIG].host_ttl.total_seconds(),
            clock=clock,
        )
        async with janitor.running():
            yield

    return ctx


def create_app(
    config: SchedulerServiceConfig,
    *,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=_MAX_BODY)
    app[CONFIG] = config
    app[METRICS] = SchedulerMetrics()
    app.cleanup_ctx.extend([_session, _service(clock, rng), _janitor(clock)])
    add_scheduler_routes(app)
    add_health_routes(app)
    add_metrics_route(app, app[METRICS].registry)
    return app
