"""``swarmfly scheduler``: serve the scheduler's API until a signal, then stop cleanly.

On SIGTERM/SIGINT the site stops accepting, requests in flight get ``SHUTDOWN_TIMEOUT`` to
finish, then the app's cleanup contexts close the janitor, the seed orders in flight and the
session, in that order.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.app import create_app
from swarmfly.web.runner import serve_app

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0


async def serve(config: SchedulerServiceConfig, stop: asyncio.Event | None = None) -> None:
    """Run the scheduler until SIGTERM/SIGINT (or ``stop`` is set)."""
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
                "host_ttl_s": config.host_ttl.total_seconds(),
                "keepalive_interval_s": config.host_keepalive_interval.total_seconds(),
            },
        )
        await stop.wait()
        logger.info("stopping")
    logger.info("stopped")
