"""The Open API as a sub-application under ``/oapi/v1``, with its own middlewares: errors in
Dragonfly's shapes (422 ``{"errors": …}``, else ``{"message": …}``), then the token check."""

from __future__ import annotations

from aiohttp import web

from swarmfly.manager.openapi.auth import token_middleware
from swarmfly.manager.openapi.clusters import add_cluster_routes
from swarmfly.manager.openapi.jobs import add_job_routes
from swarmfly.web.errors import openapi_error_middleware

PREFIX = "/oapi/v1"


def create_openapi_app() -> web.Application:
    app = web.Application(middlewares=[openapi_error_middleware, token_middleware(PREFIX)])
    add_job_routes(app)
    add_cluster_routes(app)
    return app
