"""``swarmfly scheduler``: serve the scheduler's API until a signal, then stop cleanly.

On SIGTERM/SIGINT the site stops accepting, requests in flight get ``SHUTDOWN_TIMEOUT`` to
finish, then the app's cleanup contexts close the janitor, the seed orders in flight and the
session, in that order.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from contextlib import AsyncExitStack

import aiohttp

from swarmfly.config import SchedulerServiceConfig
from swarmfly.registry import RegistryClient
from swarmfly.scheduler.app import create_app
from swarmfly.scheduler.appkeys import SERVICE
from swarmfly.scheduler.manager_link import ManagerLink
from swarmfly.scheduler.preheat import PreheatWorker
from swarmfly.scheduler.service import SchedulerService
from swarmfly.web.runner import serve_app
from swarmfly.wire.manager import RegisterScheduler, SeedPeerInfo
from swarmfly.wire.manager_client import ManagerClient

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0


async def serve(config: SchedulerServiceConfig, stop: asyncio.Event | None = None) -> None:
    """Run the scheduler until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(config)
    async with AsyncExitStack() as stack:
        port = await stack.enter_async_context(
            serve_app(app, config.server.ip, config.server.port, shutdown_timeout=SHUTDOWN_TIMEOUT)
        )
        if config.manager.addr:
            await _take_preheat_work(stack, config, app[SERVICE], port)
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


async def _take_preheat_work(
    stack: AsyncExitStack, config: SchedulerServiceConfig, service: SchedulerService, port: int
) -> None:
    """Register with the manager and run the preheat work it hands this cluster."""
    session = await stack.enter_async_context(aiohttp.ClientSession(trust_env=False))
    manager = ManagerClient(session, config.manager.addr)
    registration = RegisterScheduler(
        hostname=socket.gethostname(),
        ip=config.advertise_ip,
        port=port,
        cluster_id=config.manager.scheduler_cluster_id,
    )
    link = await stack.enter_async_context(
        ManagerLink(manager, registration, lambda: _seed_peers(service)).running()
    )
    registry = await stack.enter_async_context(RegistryClient.open())
    worker = PreheatWorker(
        manager,
        link,
        service,
        registry,
        claim_interval=config.manager.claim_interval.total_seconds(),
    )
    await stack.enter_async_context(worker.running())


def _seed_peers(service: SchedulerService) -> list[SeedPeerInfo]:
    return [
        SeedPeerInfo(
            host_id=host.host_id,
            hostname=host.info.hostname,
            ip=host.info.ip,
            control_port=host.info.control_port,
            upload_port=host.info.upload_port,
        )
        for host in service.state.hosts.values()
        if host.is_seed
    ]
