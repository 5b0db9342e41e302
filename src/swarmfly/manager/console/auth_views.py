"""Signing in and out of the console.

Sign-in checks the user's argon2 hash (``UserStore.authenticate``) unless the username or the
client address is locked out (``SignInThrottle``: 429, no password checked). Success replaces
the visitor's session with a new signed-in one; sign-out revokes the session and starts a new
signed-out one. Wrong usernames and wrong passwords get the same answer.
"""

from __future__ import annotations

import logging
import math

from aiohttp import web

from swarmfly.manager.appkeys import METRICS, USERS
from swarmfly.manager.console.appkeys import SESSION, SESSIONS, THROTTLE, USER
from swarmfly.manager.console.middleware import set_session
from swarmfly.manager.console.rendering import local_path, render, see_other

logger = logging.getLogger(__name__)

HOME = "/jobs/preheats"
MAX_FIELD = 256


def _form_text(value: object) -> str:
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _wait_words(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"{whole} s" if whole < 120 else f"{math.ceil(whole / 60)} min"


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    target = local_path(request.query.get("next"), HOME)
    if USER in request:
        return see_other(target)
    return render(request, "signin.html", {"next": target, "username": "", "error": ""})


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = _form_text(form.get("username")).strip(), _form_text(form.get("password"))
    target = local_path(_form_text(form.get("next")), HOME)
    address = request.remote or "unknown"
    throttle, metrics = request.config_dict[THROTTLE], request.config_dict[METRICS]
    context = {"next": target, "username": username}
    wait = throttle.retry_after(username, address)
    if wait > 0:
        metrics.console_sign_ins.labels(outcome="locked").inc()
        logger.warning("console sign-in locked out", extra={"user": username, "address": address})
        error = f"Too many failed sign-ins. Try again in {_wait_words(wait)}."
        return render(request, "signin.html", {**context, "error": error}, status=429)
    user = await request.config_dict[USERS].authenticate(username, password) if username else None
    if user is None:
        metrics.console_sign_ins.labels(outcome="failure").inc()
        locked = throttle.failed(username, address)
        logger.info("console sign-in failed", extra={"user": username, "address": address})
        error = "Wrong username or password."
        if locked > 0:
            error += f" Too many failed sign-ins: try again in {_wait_words(locked)}."
        return render(request, "signin.html", {**context, "error": error}, status=401)
    throttle.succeeded(username, address)
    metrics.console_sign_ins.labels(outcome="success").inc()
    logger.info("console sign-in", extra={"user": user.name, "address": address})
    set_session(request, request.config_dict[SESSIONS].new(user.id))
    return see_other(target)


async def sign_out(request: web.Request) -> web.StreamResponse:
    codec = request.config_dict[SESSIONS]
    codec.revoke(request[SESSION])
    set_session(request, codec.new(None))
    return see_other("/signin")
