"""CONNECT tunnels, below aiohttp: the bytes pass through untouched.

aiohttp's server parses ``CONNECT`` but cannot hand the connection over: what the client sends
after the request head goes to its HTTP parser, which rejects a TLS ClientHello as a bad
method. So every connection to the proxy port first meets a :class:`ConnectionSniffer`, which
reads just enough to tell. A connection that opens with ``CONNECT`` becomes a tunnel; any other
is handed, with the bytes read so far, to aiohttp's own protocol, which then owns it exactly as
if it had accepted it (keep-alive, shutdown, sendfile all unchanged).

A tunnel is a pair of protocols, one per socket, each writing what it reads into the other
socket and pausing its reading while the other socket's write buffer is full, so memory stays
at the transports' buffers whatever flows through. HTTPS is not intercepted (a later step).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from aiohttp import web

from swarmfly.daemon.metrics import ProxyMetrics
from swarmfly.daemon.proxy.context import Outcome
from swarmfly.daemon.proxy.routing import Mode
from swarmfly.errors import InvalidInput, SwarmflyError, Timeout, Unavailable
from swarmfly.web.errors import status_for
from swarmfly.wire import headers as names

logger = logging.getLogger(__name__)

CONNECT = b"CONNECT "
END_OF_HEAD = b"\r\n\r\n"
MAX_HEAD = 16 * 1024
CONNECT_TIMEOUT = 30.0

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


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


class ConnectionSniffer(asyncio.Protocol):
    """The first protocol of every connection: a CONNECT becomes a tunnel, else aiohttp's."""

    def __init__(self, http: ProtocolFactory, tunnels: Tunnels) -> None:
        self._http = http
        self._tunnels = tunnels
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._opening: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        if len(self._buffer) < len(CONNECT) and CONNECT.startswith(self._buffer):
            return  # too early to tell
        if not self._buffer.startswith(CONNECT):
            self._hand_over(self._transport)
            return
        head, found, early = self._buffer.partition(END_OF_HEAD)
        if not found:
            if len(self._buffer) > MAX_HEAD:
                self._refuse(InvalidInput("CONNECT request head too large"))
            return
        self._transport.pause_reading()
        try:
            host, port = parse_connect_head(head)
        except InvalidInput as exc:
            self._refuse(exc)
            return
        self._opening = self._tunnels.open(self._transport, host, port, early)

    def _hand_over(self, transport: asyncio.Transport) -> None:
        protocol = self._http()
        assert isinstance(protocol, asyncio.Protocol)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(self._buffer)
        self._buffer = b""

    def _refuse(self, exc: SwarmflyError) -> None:
        assert self._transport is not None
        self._tunnels.record(Outcome.FAILED)
        self._transport.write(error_head(exc))
        self._transport.close()

    def eof_received(self) -> bool:
        return False  # the client left before saying what it wanted: close

    def connection_lost(self, exc: Exception | None) -> None:
        if self._opening is not None:
            self._opening.cancel()


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

    def site(self, runner: web.AppRunner, host: str, port: int) -> web.BaseSite:
        """The proxy port's site: aiohttp's server behind a :class:`ConnectionSniffer`."""
        return SniffingSite(runner, host, port, self)

    def protocol_factory(self, http: ProtocolFactory) -> Callable[[], ConnectionSniffer]:
        return lambda: ConnectionSniffer(http, self)

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


class SniffingSite(web.BaseSite):
    """A TCP site whose connections meet a :class:`ConnectionSniffer` first."""

    __slots__ = ("_host", "_port", "_tunnels")

    def __init__(self, runner: web.AppRunner, host: str, port: int, tunnels: Tunnels) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._tunnels = tunnels

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._tunnels.protocol_factory(server), self._host, self._port, reuse_address=True
        )
