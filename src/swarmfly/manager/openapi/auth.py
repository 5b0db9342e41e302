"""Personal access tokens on the Open API, checked before anything else a request does.

The token comes as ``Authorization: Bearer <token>`` (``Bearer`` in any case, exactly two
fields) or, when there is no ``Authorization`` header, as ``?access_token=``. Missing,
malformed or unknown → 401 ``{"message": "Unauthorized"}``; inactive, expired or without the
scope of the route (``job`` for ``/jobs…``, ``cluster`` for ``/clusters…``) → 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from swarmfly.errors import Forbidden, Unauthenticated
from swarmfly.manager.appkeys import METRICS, TOKENS
from swarmfly.manager.errors import Unauthorized
from swarmfly.manager.tokens import Scope

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The user whose token authenticated the request (None for a token made without a user).
TOKEN_USER: web.RequestKey[int | None] = web.RequestKey("token_user_id")

_SCOPE_BY_SECTION = {"jobs": Scope.JOB, "clusters": Scope.CLUSTER}


def bearer_token(authorization: str | None, access_token: str | None) -> str:
    """The token a request carries; ``Unauthorized`` when there is none or it is malformed."""
    if authorization is not None:
        fields = authorization.split()
        if len(fields) != 2 or fields[0].lower() != "bearer":
            raise Unauthorized()
        return fields[1]
    if access_token:
        return access_token
    raise Unauthorized()


def scope_for(path: str, prefix: str) -> Scope | None:
    """The scope a path under the Open API's ``prefix`` needs (None: not a guarded route)."""
    section = path.removeprefix(prefix).strip("/").split("/", 1)[0]
    return _SCOPE_BY_SECTION.get(section)


def token_middleware(prefix: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        scope = scope_for(request.path, prefix)
        if scope is None:
            return await handler(request)
        try:
            value = bearer_token(
                request.headers.get("Authorization"), request.query.get("access_token")
            )
            info = await request.config_dict[TOKENS].authenticate(value, scope)
        except (Unauthenticated, Forbidden) as exc:
            status = "401" if isinstance(exc, Unauthenticated) else "403"
            request.config_dict[METRICS].auth_failures.labels(status=status).inc()
            raise
        request[TOKEN_USER] = info.user_id
        return await handler(request)

    return middleware
