"""``dfdaemon``: open the daemon's resources in order, serve its ports, stop cleanly on a signal.

Resources open in one ``AsyncExitStack``, so they close in reverse: the HTTP runners stop
first (in-flight requests get ``shutdown_timeout``), then the proxy's tunnels and upstream
pool, the garbage collector and the conductor (whose cancelled downloads leave their finished
pieces in the store for the next start), then the source client and finally the store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from swarmfly.config import DaemonConfig
from swarmfly.daemon.app import create_control_app, create_proxy_app, create_upload_app
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.access import AccessChecker
from swarmfly.daemon.proxy.context import ProxyContext
from swarmfly.daemon.proxy.listener import proxy_site
from swarmfly.daemon.proxy.tunnel import Tunnels
from swarmfly.daemon.proxy.upstream import UpstreamClient
from swarmfly.ratelimit import limiter_for
from swarmfly.source import SourceClient
from swarmfly.storage import GarbageCollector, PieceStore
from swarmfly.web.runner import serve_app

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0


async def serve(config: DaemonConfig, stop: asyncio.Event | None = None) -> None:
    """Run the daemon until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(PieceStore.open(config.storage))
        source = await stack.enter_async_context(
            SourceClient.open(
                insecure=config.proxy.registry_mirror.insecure,
                rate_limiter=limiter_for(config.download.rate_limit),
                read_timeout=config.download.piece_timeout.total_seconds(),
            )
        )
        metrics = DaemonMetrics()
        conductor = Conductor(config.download, store, source, metrics)
        await stack.enter_async_context(conductor.running())
        await stack.enter_async_context(GarbageCollector.running(store, config.gc))
        control_port = await stack.enter_async_context(
            serve_app(
                create_control_app(config, conductor, metrics),
                config.control.server.ip,
                config.control.server.port,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
        )
        upload_port = await stack.enter_async_context(
            serve_app(
                create_upload_app(config, conductor, metrics),
                config.upload.server.ip,
                config.upload.server.port,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
        )
        proxy_port = await stack.enter_async_context(serve_proxy(config, stack, conductor, metrics))
        logger.info(
            "ready",
            extra={
                "control_port": control_port,
                "upload_port": upload_port,
                "proxy_port": proxy_port,
                "storage": str(config.storage.dir),
                "host_ip": config.host.ip,
            },
        )
        await stop.wait()
        logger.info("stopping")
    logger.info("stopped")


@asynccontextmanager
async def serve_proxy(
    config: DaemonConfig, stack: AsyncExitStack, conductor: Conductor, metrics: DaemonMetrics
) -> AsyncIterator[int]:
    """The proxy port, with its own upstream pool and tunnels (closed after its runner)."""
    upstream = await stack.enter_async_context(
        UpstreamClient.open(
            insecure=config.proxy.registry_mirror.insecure,
            read_timeout=config.download.piece_timeout.total_seconds(),
        )
    )
    tunnels = await stack.enter_async_context(Tunnels(metrics.proxy).running())
    access = AccessChecker(
        upstream, metrics.proxy, ttl=config.proxy.access_check_ttl.total_seconds()
    )
    context = ProxyContext(config.proxy, conductor, conductor.store, upstream, access, metrics)
    async with serve_app(
        create_proxy_app(context),
        config.proxy.server.ip,
        config.proxy.server.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        site=proxy_site(tunnels),
    ) as port:
        yield port
