"""``swarmfly manager``: serve the Open API and the schedulers' API until a signal.

On SIGTERM/SIGINT the site stops accepting, requests in flight get ``SHUTDOWN_TIMEOUT`` to
finish, then the app's cleanup contexts stop the janitor, wait for results being written, and
close the database, in that order.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from swarmfly.config import ManagerServiceConfig
from swarmfly.manager.app import create_app
from swarmfly.manager.database import database_url, redacted_dsn
from swarmfly.web.runner import serve_app

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0


async def serve(config: ManagerServiceConfig, stop: asyncio.Event | None = None) -> None:
    """Run the manager until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(config)
    async with serve_app(
        app, config.server.ip, config.server.port, shutdown_timeout=SHUTDOWN_TIMEOUT
    ) as port:
        logger.info(
            "ready",
            extra={
                "port": port,
                "database": redacted_dsn(database_url(config)),
                "data_dir": str(config.data_dir),
            },
        )
        await stop.wait()
        logger.info("stopping")
    logger.info("stopped")
