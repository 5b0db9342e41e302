"""The daemon's applications, one per port, each handed the shared resources it uses."""

from __future__ import annotations

from aiohttp import web

from swarmfly.config import DaemonConfig
from swarmfly.daemon.appkeys import (
    CONDUCTOR,
    CONFIG,
    LISTINGS,
    METRICS,
    PROXY,
    STORE,
    UPLOAD_LIMITS,
)
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.control import add_control_routes
from swarmfly.daemon.listings import Listings
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.context import ProxyContext
from swarmfly.daemon.proxy.dispatch import add_proxy_routes, late_connect
from swarmfly.daemon.seed import add_seed_routes
from swarmfly.daemon.upload import add_upload_routes
from swarmfly.daemon.upload_limits import UploadLimits
from swarmfly.web.errors import error_middleware, proxy_error_middleware

#: The control API accepts JSON requests; nothing it takes is larger than this.
_CONTROL_MAX_BODY = 1 << 20

#: Absolute-form targets carry whole signed URLs, and registry tokens can be long.
_PROXY_HANDLER_ARGS = {"max_line_size": 64 * 1024, "max_field_size": 64 * 1024}


def create_control_app(
    config: DaemonConfig, conductor: Conductor, metrics: DaemonMetrics
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=_CONTROL_MAX_BODY)
    app[CONFIG] = config
    app[CONDUCTOR] = conductor
    app[STORE] = conductor.store
    app[METRICS] = metrics
    add_control_routes(app)
    add_seed_routes(app)
    return app


def create_upload_app(
    config: DaemonConfig, conductor: Conductor, metrics: DaemonMetrics, limits: UploadLimits
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=_CONTROL_MAX_BODY)
    app[CONFIG] = config
    app[CONDUCTOR] = conductor
    app[STORE] = conductor.store
    app[METRICS] = metrics
    app[UPLOAD_LIMITS] = limits
    app[LISTINGS] = Listings()
    add_upload_routes(app)
    return app


def create_proxy_app(context: ProxyContext) -> web.Application:
    """The proxy port: registry mirror and forward proxy (bodies stream; no size limit)."""
    app = web.Application(
        middlewares=[proxy_error_middleware, late_connect], handler_args=_PROXY_HANDLER_ARGS
    )
    app[PROXY] = context
    add_proxy_routes(app)
    return app
