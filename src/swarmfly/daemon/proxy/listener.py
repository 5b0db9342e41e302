"""The proxy port's listener: every connection is sniffed before anyone parses it.

aiohttp's server parses ``CONNECT`` but cannot hand the connection over: what the client sends
after the request head goes to its HTTP parser, which rejects a TLS ClientHello as a bad
method. So each connection to the proxy port first meets a :class:`ConnectionSniffer`, which
reads just enough to tell. A connection that opens with ``CONNECT`` becomes a tunnel
(:mod:`.tunnel`); any other is handed, with the bytes read so far, to aiohttp's own protocol,
which then owns it exactly as if it had accepted it (keep-alive, shutdown and sendfile are
unchanged: aiohttp's server tracks the connection from its ``connection_made``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from swarmfly.daemon.proxy.context import Outcome
from swarmfly.daemon.proxy.tunnel import Tunnels, error_head, parse_connect_head
from swarmfly.errors import InvalidInput, SwarmflyError
from swarmfly.web.runner import SiteFactory

CONNECT = b"CONNECT "
END_OF_HEAD = b"\r\n\r\n"
MAX_HEAD = 16 * 1024

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


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
            lambda: ConnectionSniffer(server, self._tunnels),
            self._host,
            self._port,
            reuse_address=True,
        )


def proxy_site(tunnels: Tunnels) -> SiteFactory:
    """How :func:`~swarmfly.web.runner.serve_app` makes the proxy port's site."""

    def make(runner: web.AppRunner, host: str, port: int) -> web.BaseSite:
        return SniffingSite(runner, host, port, tunnels)

    return make
