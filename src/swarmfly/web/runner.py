"""Start an application on one port and report the port it really bound (tests pass 0)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from swarmfly.errors import Unavailable

SiteFactory = Callable[[web.AppRunner, str, int], web.BaseSite]


def tcp_site(runner: web.AppRunner, host: str, port: int) -> web.BaseSite:
    return web.TCPSite(runner, host, port, reuse_address=True)


@asynccontextmanager
async def serve_app(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = 10.0,
    site: SiteFactory = tcp_site,
) -> AsyncIterator[int]:
    """Run ``app`` on ``host:port`` until the block exits; yields the bound port.

    On exit the site stops accepting, in-flight requests get ``shutdown_timeout`` to finish,
    then the app's cleanup contexts run. ``site`` makes the listening site (a plain TCP one
    unless the app must see its connections first, as the proxy's CONNECT handling does).
    """
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=None)
    await runner.setup()
    try:
        listener = site(runner, host, port)
        try:
            await listener.start()
        except OSError as exc:
            raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        yield bound_port(runner)
    finally:
        await runner.cleanup()


def bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise Unavailable("the server did not bind a TCP port")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests that must name a port in a config file)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
