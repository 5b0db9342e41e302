"""The console's middleware: for console routes only (their names start with ``console.``),
it reads the session cookie, refuses a POST without the session's CSRF token (403), sends a
signed-out visitor to the sign-in page (a ``next`` back included; htmx requests get
``HX-Redirect`` instead, so a fragment never swaps a sign-in page in), renders errors as HTML,
adds the security headers and sets the cookie when the session is new or changed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Middleware

from swarmfly import errors
from swarmfly.manager.appkeys import USERS
from swarmfly.manager.console.appkeys import SESSION, SESSION_CHANGED, SESSIONS, USER
from swarmfly.manager.console.csrf import check_csrf
from swarmfly.manager.console.rendering import SECURITY_HEADERS, error_page, route_name
from swarmfly.manager.console.sessions import COOKIE_NAME, COOKIE_PATH, SAME_SITE, Session

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROUTE_PREFIX = "console."
#: Console routes a signed-out visitor may use.
PUBLIC_ROUTES = frozenset({"console.signin"})
SIGN_IN_PATH = "/signin"


def set_session(request: web.Request, session: Session) -> None:
    """Replace the request's session (sign-in, sign-out): the response carries the new one."""
    request[SESSION] = session
    request[SESSION_CHANGED] = True


def _to_sign_in(request: web.Request) -> web.Response:
    target = SIGN_IN_PATH
    if request.method == "GET" and request.path_qs != "/":
        target += "?" + urlencode({"next": request.path_qs})
    if request.headers.get("HX-Request"):
        return web.Response(status=401, headers={"HX-Redirect": target})
    return web.Response(status=303, headers={"Location": target})


async def _signed_in(request: web.Request, session: Session) -> bool:
    if session.user_id is None:
        return False
    user = await request.config_dict[USERS].get(session.user_id)
    if user is None:
        return False
    request[USER] = user
    return True


def secure_cookie(secure: bool) -> Callable[[web.Request, web.StreamResponse], None]:
    def finish(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(SECURITY_HEADERS)
        if not request.get(SESSION_CHANGED):
            return
        codec = request.config_dict[SESSIONS]
        response.set_cookie(
            COOKIE_NAME,
            codec.encode(request[SESSION]),
            max_age=codec.ttl_seconds,
            path=COOKIE_PATH,
            httponly=True,
            samesite=SAME_SITE,
            secure=secure,
        )

    return finish


def console_middleware(*, secure: bool) -> Middleware:
    finish = secure_cookie(secure)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = route_name(request)
        if not name.startswith(ROUTE_PREFIX):
            return await handler(request)
        codec = request.config_dict[SESSIONS]
        session = codec.decode(request.cookies.get(COOKIE_NAME))
        if session is None:
            set_session(request, codec.new(None))
        else:
            request[SESSION] = session
        try:
            await check_csrf(request, codec, request[SESSION])
            if not await _signed_in(request, request[SESSION]) and name not in PUBLIC_ROUTES:
                response: web.StreamResponse = _to_sign_in(request)
            else:
                response = await handler(request)
        except web.HTTPException:
            raise
        except errors.SwarmflyError as exc:
            if isinstance(exc, errors.Forbidden):
                logger.info("console request refused", extra={"path": request.path})
            response = error_page(request, exc)
        finish(request, response)
        return response

    return middleware
