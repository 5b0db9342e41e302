"""One table from error category to HTTP status, and the middleware that applies it.

Handlers raise; they never build error responses. Anything that is not a ``SwarmflyError``
becomes a 500 with a generic body, and its traceback goes to the log only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict

from swarmfly import errors
from swarmfly.source import (
    RangeNotSatisfiable,
    SourceTimeout,
    SourceUnavailable,
    format_unsatisfied_content_range,
)
from swarmfly.source.headers import HOP_BY_HOP

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Most specific first: the first category an error is an instance of decides its status.
STATUS_BY_CATEGORY: tuple[tuple[type[errors.SwarmflyError], int], ...] = (
    (RangeNotSatisfiable, 416),
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.StorageFull, 507),
    (errors.UpstreamError, 502),
    (errors.CorruptContent, 502),
    (errors.Unavailable, 503),
    (errors.Timeout, 504),
)

#: ``X-Dragonfly-Error-Type`` values, as Dragonfly's clients know them.
ERROR_TYPE_HEADER = "X-Dragonfly-Error-Type"


def status_for(exc: errors.SwarmflyError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(exc, category):
            return status
    return 500


def error_response(exc: errors.SwarmflyError) -> web.Response:
    """The JSON response for a Swarmfly error; its message is safe to show the caller."""
    body: dict[str, object] = {"message": str(exc), "error": type(exc).__name__}
    headers = {ERROR_TYPE_HEADER: "dfdaemon"}
    if isinstance(exc, errors.UpstreamError):
        body["upstream_status"] = exc.status
        headers[ERROR_TYPE_HEADER] = "backend"
    if isinstance(exc, RangeNotSatisfiable) and exc.total_length is not None:
        headers["Content-Range"] = format_unsatisfied_content_range(exc.total_length)
    if isinstance(exc, errors.Unavailable) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))  # whole seconds
    return web.json_response(body, status=status_for(exc), headers=headers)


#: Upstream response headers that described the upstream's own connection or framing.
_NOT_REPLAYED = HOP_BY_HOP | {"content-length"}


def proxy_error_response(exc: errors.SwarmflyError) -> web.Response:
    """How the proxy port answers a failure.

    An upstream's error status goes back as the upstream sent it (status, headers, the body
    prefix that was kept), marked ``backend``: a registry's 401 and its ``WWW-Authenticate``
    reach the client unchanged. The proxy's own failures (a bad request, an upstream it cannot
    reach) are marked ``proxy``; the daemon's (store, digest, internal) ``dfdaemon``.
    """
    if isinstance(exc, errors.UpstreamError) and 400 <= exc.status <= 599:
        headers = CIMultiDict(
            (name, value)
            for name, value in exc.headers.items()
            if name.lower() not in _NOT_REPLAYED
        )
        headers[ERROR_TYPE_HEADER] = "backend"
        return web.Response(status=exc.status, body=exc.body, headers=headers)
    response = error_response(exc)
    if isinstance(exc, errors.InvalidInput | SourceUnavailable | SourceTimeout):
        response.headers[ERROR_TYPE_HEADER] = "proxy"
    return response


Render = Callable[[errors.SwarmflyError], web.Response]


def make_error_middleware(render: Render) -> Middleware:
    """The middleware that turns what handlers raise into responses with ``render``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except errors.SwarmflyError as exc:
            response = render(exc)
            # A 503 that says when to come back is a busy server pacing its callers, not a
            # fault (a seed peer refuses many pieces that way: see daemon/first_copies.py).
            paced = isinstance(exc, errors.Unavailable) and exc.retry_after is not None
            if response.status >= 500 and not paced:
                logger.warning(
                    "request failed",
                    extra={"path": request.path, "status": response.status, "error": str(exc)},
                )
            return response
        except Exception:  # the one place a request's unexpected failure is turned into a 500
            logger.exception("unexpected error", extra={"path": request.path})
            return web.json_response(
                {"message": "internal error"}, status=500, headers={ERROR_TYPE_HEADER: "dfdaemon"}
            )

    return middleware


def openapi_error_response(exc: errors.SwarmflyError) -> web.Response:
    """How the Open API (``/oapi``) answers, as Dragonfly's clients expect: invalid input is
    422 ``{"errors": "<field>: <why>"}``, everything else ``{"message": …}`` with its status."""
    if isinstance(exc, errors.InvalidInput):
        return web.json_response({"errors": str(exc)}, status=422)
    return web.json_response({"message": str(exc)}, status=status_for(exc))


error_middleware = make_error_middleware(error_response)
openapi_error_middleware = make_error_middleware(openapi_error_response)
proxy_error_middleware = make_error_middleware(proxy_error_response)
