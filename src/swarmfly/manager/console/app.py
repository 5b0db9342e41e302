"""Wiring the console into the manager's app: templates (Jinja2, autoescaped, all loaded and
compiled at start in a thread, so a broken template stops the start and no page reads a file
on the event loop), static files under ``/static``, the routes and the middleware, and a
cleanup context that reads (or makes) the signing key and builds the session codec and the
sign-in throttle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from swarmfly import __version__
from swarmfly.manager.appkeys import CLOCK, CONFIG
from swarmfly.manager.console.appkeys import SESSIONS, THROTTLE
from swarmfly.manager.console.middleware import console_middleware
from swarmfly.manager.console.routes import add_console_routes
from swarmfly.manager.console.secret import load_or_create_secret
from swarmfly.manager.console.sessions import SessionCodec
from swarmfly.manager.console.throttle import SignInThrottle

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/static"


def _compile_all(env: jinja2.Environment) -> None:
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


async def _console(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    console = config.console
    key = await asyncio.to_thread(load_or_create_secret, config.data_dir)
    await asyncio.to_thread(_compile_all, aiohttp_jinja2.get_env(app))
    app[SESSIONS] = SessionCodec(key, ttl=console.session_ttl, clock=app[CLOCK])
    app[THROTTLE] = SignInThrottle(
        free_failures=console.sign_in_free_failures,
        lockout=console.sign_in_lockout,
        max_lockout=console.sign_in_max_lockout,
        clock=app[CLOCK],
    )
    yield


def setup_console(app: web.Application) -> None:
    """Serve the console from ``app`` (the manager's, before it starts): call after CONFIG and
    CLOCK are set and before the runner freezes the app."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    app[aiohttp_jinja2.static_root_key] = STATIC_PREFIX
    app.middlewares.append(console_middleware(secure=app[CONFIG].console.secure_cookie))
    app.cleanup_ctx.append(_console)
    add_console_routes(app)
    app.router.add_static(STATIC_PREFIX, STATIC, name="static")
