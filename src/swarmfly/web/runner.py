"""Start an application on one port and report the port it really bound (tests pass 0)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from swarmfly.errors import Unavailable


@asynccontextmanager
async def serve_app(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 10.0
) -> AsyncIterator[int]:
    """Run ``app`` on ``host:port`` until the block exits; yields the bound port.

    On exit the site stops accepting, in-flight requests get ``shutdown_timeout`` to finish,
    then the app's cleanup contexts run.
    """
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
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
