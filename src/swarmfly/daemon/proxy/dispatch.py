"""The proxy port's one handler: route the request, take its path, count the outcome.

Every HTTP request on the proxy port lands here, whatever its method and target: aiohttp's
router matches absolute-form targets on their path, so ``/{tail:.*}`` catches both mirror and
forward-proxy requests (``request.raw_path`` keeps the absolute URL, query bytes untouched).
``CONNECT`` is handled before aiohttp sees the connection (:mod:`.tunnel`); one that arrives
later on a kept-alive connection is refused, since the connection is aiohttp's by then.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from swarmfly.daemon.appkeys import PROXY
from swarmfly.daemon.proxy import blobs
from swarmfly.daemon.proxy.context import Outcome, ProxyContext, Served
from swarmfly.daemon.proxy.passthrough import relay
from swarmfly.daemon.proxy.routing import Mode, Route, route_request
from swarmfly.errors import InvalidInput, UpstreamError
from swarmfly.logs import redacted_url
from swarmfly.web.errors import Handler

logger = logging.getLogger(__name__)


async def proxy(request: web.Request) -> web.StreamResponse:
    ctx = request.app[PROXY]
    target = request.raw_path
    mode = Mode.FORWARD if target[:1] != "/" else Mode.MIRROR
    outcome = Outcome.FAILED
    try:
        route = route_request(request.method, target, request.headers, ctx.config)
        mode = route.mode
        response, outcome = await _take(request, route, ctx)
    except asyncio.CancelledError:
        outcome = Outcome.CLIENT_GONE
        raise
    except UpstreamError:
        outcome = Outcome.BACKEND_ERROR
        raise
    finally:
        ctx.metrics.proxy.requests.labels(mode.value, outcome.value).inc()
    level = logging.INFO if route.use_store else logging.DEBUG
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "proxy request",
            extra={
                "method": request.method,
                "url": redacted_url(route.url),
                "mode": mode.value,
                "outcome": outcome.value,
                "status": response.status,
            },
        )
    return response


async def _take(request: web.Request, route: Route, ctx: ProxyContext) -> Served:
    if route.use_store:
        return await blobs.get_blob(request, route, ctx)
    if route.blob is not None and request.method == "HEAD":
        return await blobs.head_blob(request, route, ctx)
    response = await relay(request, route.url, ctx.upstream, ctx.metrics.proxy)
    return response, Outcome.PASSTHROUGH


@web.middleware
async def late_connect(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a CONNECT that is not the first request on its connection."""
    if request.method != "CONNECT":
        return await handler(request)
    request.app[PROXY].metrics.proxy.requests.labels(Mode.TUNNEL.value, "failed").inc()
    raise LateConnect("CONNECT must be the first request on its connection")


class LateConnect(InvalidInput):
    """A CONNECT on a connection that already carried HTTP requests."""


def add_proxy_routes(app: web.Application) -> None:
    app.router.add_route("*", "/{tail:.*}", proxy)
