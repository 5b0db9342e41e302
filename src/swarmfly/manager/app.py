"""The manager's application. Its resources open in cleanup contexts, in this order: the
database (migrated to head), the stores over it with the first-start data (root user,
``cluster-1``), the queue (which owns the results being written), the janitor; they close in
reverse, so no sweep or result outlives the database it writes to.

Routes: the internal API for schedulers (``/api/v1``, ``wire/manager.py``), the Open API as a
sub-application (``/oapi/v1``, with its own error shapes and token check), ``/healthy``,
``/metrics``, and the console (``/``, ``manager/console``: HTML pages for people).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from swarmfly.config import ManagerServiceConfig
from swarmfly.manager.appkeys import (
    ARRIVALS,
    CLOCK,
    CLUSTERS,
    CONFIG,
    DATABASE,
    JOBS,
    METRICS,
    QUEUE,
    SCHEDULERS,
    SUBMITTER,
    TOKENS,
    USERS,
)
from swarmfly.manager.arrivals import WorkArrivals
from swarmfly.manager.clock import Clock, system_clock
from swarmfly.manager.clusters import ClusterStore
from swarmfly.manager.console import setup_console
from swarmfly.manager.database import Database
from swarmfly.manager.internal import add_internal_routes
from swarmfly.manager.janitor import JobJanitor
from swarmfly.manager.jobs import JobStore
from swarmfly.manager.metrics import ManagerMetrics
from swarmfly.manager.openapi.app import PREFIX, create_openapi_app
from swarmfly.manager.queue import JobQueue
from swarmfly.manager.schedulers import SchedulerRegistry
from swarmfly.manager.submit import JobSubmitter
from swarmfly.manager.tokens import TokenStore
from swarmfly.manager.users import UserStore
from swarmfly.web.errors import error_middleware
from swarmfly.web.health import add_health_routes
from swarmfly.web.metrics import add_metrics_route

#: Every request the manager takes is small JSON.
_MAX_BODY = 1 << 20

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with Database.open(app[CONFIG]) as database:
        app[DATABASE] = database
        yield


async def _stores(app: web.Application) -> AsyncIterator[None]:
    config, database, clock = app[CONFIG], app[DATABASE], app[CLOCK]
    app[USERS] = UserStore(database, clock=clock)
    await app[USERS].ensure_root(config.data_dir)
    app[CLUSTERS] = ClusterStore(database, clock=clock)
    await app[CLUSTERS].ensure_default()
    app[TOKENS] = TokenStore(database, clock=clock)
    app[ARRIVALS] = WorkArrivals()
    app[JOBS] = JobStore(database, clock=clock, arrivals=app[ARRIVALS])
    app[SCHEDULERS] = SchedulerRegistry(
        database,
        keepalive_interval=config.schedulers.keepalive_interval,
        keepalive_ttl=config.schedulers.keepalive_ttl,
        clock=clock,
    )
    app[SUBMITTER] = JobSubmitter(
        jobs=app[JOBS],
        clusters=app[CLUSTERS],
        schedulers=app[SCHEDULERS],
        metrics=app[METRICS],
        config=config.jobs,
        clock=clock,
    )
    yield


async def _queue(app: web.Application) -> AsyncIterator[None]:
    queue = JobQueue(app[DATABASE], lease=app[CONFIG].jobs.lease, clock=app[CLOCK])
    async with queue.running():
        app[QUEUE] = queue
        yield


def _janitor(enabled: bool) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if not enabled:
            yield
            return
        config = app[CONFIG]
        interval = min(
            config.jobs.sweep_interval.total_seconds(),
            config.schedulers.keepalive_ttl.total_seconds() / 3,
        )
        janitor = JobJanitor(app[QUEUE], app[SCHEDULERS], app[METRICS], interval=interval)
        async with janitor.running():
            yield

    return ctx


def create_app(
    config: ManagerServiceConfig, *, clock: Clock = system_clock, janitor: bool = True
) -> web.Application:
    """The manager; tests pass a ``clock`` and may leave the janitor out to sweep by hand."""
    app = web.Application(middlewares=[error_middleware], client_max_size=_MAX_BODY)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[METRICS] = ManagerMetrics()
    app.cleanup_ctx.extend([_database, _stores, _queue, _janitor(janitor)])
    add_internal_routes(app)
    add_health_routes(app)
    add_metrics_route(app, app[METRICS].registry)
    app.add_subapp(PREFIX, create_openapi_app())
    if config.console.enable:
        setup_console(app)
    return app
