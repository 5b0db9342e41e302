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

import aiohttp

from swarmfly.config import DaemonConfig
from swarmfly.daemon.announcer import Announcer
from swarmfly.daemon.app import create_control_app, create_proxy_app, create_upload_app
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.first_copies import FirstCopies
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.peering import Peering
from swarmfly.daemon.proxy.access import AccessChecker
from swarmfly.daemon.proxy.context import ProxyContext
from swarmfly.daemon.proxy.listener import proxy_site
from swarmfly.daemon.proxy.tunnel import Tunnels
from swarmfly.daemon.proxy.upstream import UpstreamClient
from swarmfly.daemon.upload_limits import UploadLimits
from swarmfly.idgen import host_id
from swarmfly.ratelimit import RateLimiter, limiter_for
from swarmfly.source import SourceClient
from swarmfly.source.plain_http import PlainHTTP
from swarmfly.storage import GarbageCollector, PieceStore
from swarmfly.web.runner import serve_app
from swarmfly.wire.peer_client import PieceClient
from swarmfly.wire.scheduler import HostInfo, HostLoad
from swarmfly.wire.scheduler_client import SchedulerClient

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0


async def serve(config: DaemonConfig, stop: asyncio.Event | None = None) -> None:
    """Run the daemon until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    download_limiter = limiter_for(config.download.rate_limit)  # source and parents share it
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(PieceStore.open(config.storage))
        source = await stack.enter_async_context(
            SourceClient.open(
                insecure=config.proxy.registry_mirror.insecure,
                rate_limiter=download_limiter,
                read_timeout=config.download.piece_timeout.total_seconds(),
            )
        )
        metrics = DaemonMetrics()
        first_copies = FirstCopies() if config.seed_peer.enable else None
        limits = UploadLimits(config.upload, first_copies=first_copies)
        peering = await _open_peering(stack, config, store, metrics, limits, download_limiter)
        conductor = Conductor(config.download, store, source, metrics, peering=peering)
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
                create_upload_app(config, conductor, metrics, limits),
                config.upload.server.ip,
                config.upload.server.port,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
        )
        proxy_port = await stack.enter_async_context(serve_proxy(config, stack, conductor, metrics))
        if peering is not None:
            await stack.enter_async_context(
                peering.announcer.running(_host_info(config, control_port, upload_port))
            )
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


async def _open_peering(
    stack: AsyncExitStack,
    config: DaemonConfig,
    store: PieceStore,
    metrics: DaemonMetrics,
    limits: UploadLimits,
    download_limiter: RateLimiter | None,
) -> Peering | None:
    """The swarm side of the daemon, when schedulers are configured; None otherwise."""
    if not config.scheduler.addrs:
        logger.info("no scheduler configured: every task goes back to source")
        return None
    session = await stack.enter_async_context(
        aiohttp.ClientSession(auto_decompress=False, trust_env=False)
    )
    clients = {addr: SchedulerClient(session, _http_url(addr)) for addr in config.scheduler.addrs}
    announcer = Announcer(clients, lambda: _load(limits, metrics))
    plain = PlainHTTP()
    stack.callback(plain.close)
    pieces = PieceClient(
        session,
        plain,
        piece_timeout=config.download.piece_timeout.total_seconds(),
        rate_limiter=download_limiter,
    )
    return Peering(announcer, pieces, store, config.download, metrics)


def _http_url(addr: str) -> str:
    return addr if addr.startswith(("http://", "https://")) else f"http://{addr}"


def _host_info(config: DaemonConfig, control_port: int, upload_port: int) -> HostInfo:
    is_seed = config.seed_peer.enable
    return HostInfo(
        host_id=host_id(config.host.ip, config.host.hostname, is_seed=is_seed),
        hostname=config.host.hostname,
        ip=config.host.ip,
        upload_port=upload_port,
        control_port=control_port,
        is_seed=is_seed,
        seed_type=config.seed_peer.type if is_seed else "",
        idc=config.host.idc,
        location=config.host.location,
    )


def _load(limits: UploadLimits, metrics: DaemonMetrics) -> HostLoad:
    return HostLoad(upload_slots=limits.concurrent_limit, active_uploads=limits.active)
