"""CSRF protection for the console: every POST must carry the session's token (the
``csrf_token`` form field, or the ``X-CSRF-Token`` header for scripts), else it is refused
with 403 before its handler runs. The token is an HMAC of the session's nonce
(``SessionCodec.csrf_token``), so a page of one session cannot post for another, and the
sign-in form is covered too (a signed-out visitor has a session of its own)."""

from __future__ import annotations

from aiohttp import web

from swarmfly.errors import Forbidden
from swarmfly.manager.console.sessions import Session, SessionCodec

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
#: Requests that change nothing; every other method must carry the token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this console. "
            "Go back, reload the page and try again."
        )


async def submitted_token(request: web.Request) -> str | None:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    value = (await request.post()).get(FIELD)  # the form is small and cached for the handler
    return value if isinstance(value, str) else None


async def check_csrf(request: web.Request, codec: SessionCodec, session: Session) -> None:
    if request.method in SAFE_METHODS:
        return
    if not codec.check_csrf(session, await submitted_token(request)):
        raise CsrfRejected()
