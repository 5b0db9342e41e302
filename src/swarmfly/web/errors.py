"""One table from error category to HTTP status, and the middleware that applies it.

Handlers raise; they never build error responses. Anything that is not a ``SwarmflyError``
becomes a 500 with a generic body, and its traceback goes to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from swarmfly import errors
from swarmfly.source import RangeNotSatisfiable, format_unsatisfied_content_range

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
    return web.json_response(body, status=status_for(exc), headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except errors.SwarmflyError as exc:
        status = status_for(exc)
        if status >= 500:
            logger.warning(
                "request failed",
                extra={"path": request.path, "status": status, "error": str(exc)},
            )
        return error_response(exc)
    except Exception:  # the one place a request's unexpected failure is turned into a 500
        logger.exception("unexpected error", extra={"path": request.path})
        return web.json_response(
            {"message": "internal error"}, status=500, headers={ERROR_TYPE_HEADER: "dfdaemon"}
        )
