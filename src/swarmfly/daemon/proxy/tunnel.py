"""CONNECT tunnels, below aiohttp (see :mod:`.listener`): the bytes pass through untouched.

A tunnel is a pair of protocols, one per socket, each writing what it reads into the other
socket and pausing its reading while the other socket's write buffer is full, so memory stays
at the transports' buffers whatever flows through. HTTPS is not intercepted (a later step).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from swarmfly.daemon.metrics import ProxyMetrics
from swarmfly.daemon.proxy.context import Outcome
from swarmfly.daemon.proxy.routing import Mode
from swarmfly.errors import InvalidInput, SwarmflyError, Timeout, Unavailable
from swarmfly.web.errors import status_for
from swarmfly.wire import headers as names

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0


class TunnelTargetUnreachable(Unavailable):
    """The host named in CONNECT refused, reset or could not be resolved."""


def parse_connect_head(head: bytes) -> tuple[str, int]:
    """``(host, port)`` from ``CONNECT host:port HTTP/1.1`` and its headers (ignored)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "CONNECT" or not parts[2].startswith("HTTP/1."):
        raise InvalidInput(f"malformed CONNECT request line: {line[:100]!r}")
    try:
        target = urlsplit(f"//{parts[1]}")
        host, port = target.hostname, target.port
    except ValueError as exc:
        raise InvalidInput(f"bad CONNECT target: {parts[1][:100]!r}") from exc
    if not host or port is None or port == 0 or target.path or target.username:
        raise InvalidInput(f"CONNECT needs host:port, not {parts[1][:100]!r}")
    return host, port


def error_head(exc: SwarmflyError) -> bytes:
    """A whole HTTP answer refusing a CONNECT; the status comes from the one table."""
    body = f"{exc}\n".encode()
    return (
        f"HTTP/1.1 {status_for(exc)} Tunnel Refused\r\n"
        f"{names.ERROR_TYPE}: proxy\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class _End(asyncio.Protocol):
    """One socket of a tunnel: what it reads goes to the other socket."""

    def __init__(self, tunnel: _Tunnel) -> None:
        self._tunnel = tunnel
        self.transport: asyncio.Transport | None = None
        self.peer: asyncio.Transport | None = None
        self.ended = False
        self._early = b""  # what a server that speaks first said before the tunnel was joined

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self._early += data
            return
        self.peer.write(data)
        self._tunnel.count(len(data))

    def joined(self, peer: asyncio.Transport) -> None:
        self.peer = peer
        if self._early:
            self.data_received(self._early)
            self._early = b""

    def eof_received(self) -> bool:
        """Pass the half-close on, and keep the other direction open until it ends too."""
        self.ended = True
        if self.peer is not None and self.peer.can_write_eof() and not self.peer.is_closing():
            self.peer.write_eof()
        self._tunnel.maybe_finished()
        return True

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and not self.peer.is_closing():
            self.peer.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._tunnel.close()


class _Tunnel:
    """Two sockets joined; closing either closes both."""

    def __init__(self, tunnels: Tunnels) -> None:
        self._tunnels = tunnels
        self.client = _End(self)
        self.upstream = _End(self)
        self._closed = False

    def join(self, client: asyncio.Transport, upstream: asyncio.Transport) -> None:
        """Make ``client`` (the sniffed connection) one end; the upstream is the other."""
        client.set_protocol(self.client)
        self.client.connection_made(client)
        self.client.joined(upstream)
        self.upstream.joined(client)

    def count(self, size: int) -> None:
        self._tunnels.metrics.bytes.labels("tunnel").inc(size)

    def maybe_finished(self) -> None:
        if self.client.ended and self.upstream.ended:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for end in (self.client, self.upstream):
            if end.transport is not None:
                end.transport.close()
        self._tunnels.closed(self)

    def abort(self) -> None:
        for end in (self.client, self.upstream):
            if end.transport is not None:
                end.transport.abort()
        self.close()


class Tunnels:
    """Owns the proxy port's tunnels: the tasks that open them and the open ones."""

    def __init__(self, metrics: ProxyMetrics, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.metrics = metrics
        self._connect_timeout = connect_timeout
        self._opening: set[asyncio.Task[None]] = set()
        self._open: set[_Tunnel] = set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Tunnels]:
        """At exit, stop opening tunnels and cut the open ones."""
        try:
            yield self
        finally:
            tasks = list(self._opening)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for tunnel in list(self._open):
                tunnel.abort()

    def record(self, outcome: Outcome) -> None:
        self.metrics.requests.labels(Mode.TUNNEL.value, outcome.value).inc()

    def open(
        self, client: asyncio.Transport, host: str, port: int, early: bytes
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self._connect(client, host, port, early), name=f"tunnel {host}")
        self._opening.add(task)
        task.add_done_callback(self._opened)
        return task

    def _opened(self, task: asyncio.Task[None]) -> None:
        self._opening.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("tunnel setup crashed", exc_info=task.exception())

    async def _connect(self, client: asyncio.Transport, host: str, port: int, early: bytes) -> None:
        tunnel = _Tunnel(self)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                upstream, _ = await loop.create_connection(lambda: tunnel.upstream, host, port)
        except TimeoutError:
            self._fail(client, Timeout(f"connecting to {host}:{port} timed out"))
            return
        except OSError as exc:
            self._fail(
                client, TunnelTargetUnreachable(f"cannot reach {host}:{port}: {exc.strerror}")
            )
            return
        if client.is_closing():
            upstream.close()
            return
        client.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        tunnel.join(client, upstream)
        self._open.add(tunnel)
        self.metrics.open_tunnels.inc()
        self.record(Outcome.TUNNEL)
        logger.info("tunnel open", extra={"target": f"{host}:{port}"})
        if early:
            upstream.write(early)
        client.resume_reading()

    def _fail(self, client: asyncio.Transport, exc: SwarmflyError) -> None:
        logger.warning("tunnel refused", extra={"error": str(exc)})
        self.record(Outcome.FAILED)
        if not client.is_closing():
            client.write(error_head(exc))
            client.close()

    def closed(self, tunnel: _Tunnel) -> None:
        if tunnel in self._open:
            self._open.discard(tunnel)
            self.metrics.open_tunnels.dec()
