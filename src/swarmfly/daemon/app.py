"""The daemon's applications, one per port, each handed the shared resources it uses."""

from __future__ import annotations

from aiohttp import web

from swarmfly.config import DaemonConfig
from swarmfly.daemon.appkeys import CONDUCTOR, CONFIG, METRICS, STORE, UPLOAD_LIMITS
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.control import add_control_routes
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.upload import add_upload_routes
from swarmfly.daemon.upload_limits import UploadLimits
from swarmfly.web.errors import error_middleware

#: The control API accepts JSON requests; nothing it takes is larger than this.
_CONTROL_MAX_BODY = 1 << 20


def create_control_app(
    config: DaemonConfig, conductor: Conductor, metrics: DaemonMetrics
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=_CONTROL_MAX_BODY)
    app[CONFIG] = config
    app[CONDUCTOR] = conductor
    app[STORE] = conductor.store
    app[METRICS] = metrics
    add_control_routes(app)
    return app


def create_upload_app(
    config: DaemonConfig, conductor: Conductor, metrics: DaemonMetrics
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=_CONTROL_MAX_BODY)
    app[CONFIG] = config
    app[CONDUCTOR] = conductor
    app[STORE] = conductor.store
    app[METRICS] = metrics
    app[UPLOAD_LIMITS] = UploadLimits(config.upload)
    add_upload_routes(app)
    return app
