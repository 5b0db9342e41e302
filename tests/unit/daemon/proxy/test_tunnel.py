"""CONNECT: parsing its head, refusing it, and telling it apart from other requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.listener import ConnectionSniffer
from swarmfly.daemon.proxy.tunnel import (
    Tunnels,
    TunnelTargetUnreachable,
    error_head,
    parse_connect_head,
)
from swarmfly.errors import InvalidInput, Timeout


@pytest.mark.parametrize(
    ("head", "target"),
    [
        (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443", ("example.com", 443)),
        (b"CONNECT 127.0.0.1:5000 HTTP/1.0", ("127.0.0.1", 5000)),
        (b"CONNECT [::1]:8443 HTTP/1.1\r\nProxy-Authorization: x", ("::1", 8443)),
    ],
)
def test_parse_connect_head(head: bytes, target: tuple[str, int]) -> None:
    assert parse_connect_head(head) == target


@pytest.mark.parametrize(
    "head",
    [
        b"CONNECT example.com HTTP/1.1",
        b"CONNECT example.com:0 HTTP/1.1",
        b"CONNECT example.com:99999 HTTP/1.1",
        b"CONNECT example.com:443/path HTTP/1.1",
        b"CONNECT user@example.com:443 HTTP/1.1",
        b"CONNECT example.com:443",
        b"CONNECT  example.com:443 HTTP/1.1",
        b"CONNECT example.com:443 SPDY/3",
    ],
)
def test_malformed_connect_heads_are_invalid(head: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_connect_head(head)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("bad"), b"400"),
        (TunnelTargetUnreachable("refused"), b"503"),
        (Timeout("slow"), b"504"),
    ],
)
def test_error_head(error: Exception, status: bytes) -> None:
    head = error_head(error)  # type: ignore[arg-type]
    line, _, rest = head.partition(b"\r\n")
    assert line.split(b" ")[:2] == [b"HTTP/1.1", status]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"X-Dragonfly-Error-Type: proxy" in headers and b"Connection: close" in headers
    assert f"Content-Length: {len(body)}".encode() in headers


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.protocol: Any = None
        self.written = b""
        self.reading = True
        self.closed = False

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def pause_reading(self) -> None:
        self.reading = False

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class FakeHTTP(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data


class RecordingTunnels(Tunnels):
    def __init__(self) -> None:
        super().__init__(DaemonMetrics().proxy)
        self.opened: list[tuple[str, int, bytes]] = []

    def open(self, client: asyncio.Transport, host: str, port: int, early: bytes) -> Any:
        self.opened.append((host, port, early))
        return None


def sniff(*chunks: bytes) -> tuple[FakeTransport, FakeHTTP, RecordingTunnels]:
    transport, http, tunnels = FakeTransport(), FakeHTTP(), RecordingTunnels()
    sniffer = ConnectionSniffer(lambda: http, tunnels)
    transport.set_protocol(sniffer)
    sniffer.connection_made(transport)
    for chunk in chunks:
        transport.protocol.data_received(chunk)
    return transport, http, tunnels


@pytest.mark.parametrize(
    "chunks",
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",),
        (b"G", b"ET / HTTP/1.1\r\n\r\n"),
        (b"CONN", b"ECTION-LESS-METHOD / HTTP/1.1\r\n\r\n"),  # not "CONNECT ": aiohttp's to judge
        (b"CONNECTX y HTTP/1.1\r\n\r\n",),
    ],
)
def test_other_requests_are_handed_to_aiohttp_whole(chunks: tuple[bytes, ...]) -> None:
    transport, http, tunnels = sniff(*chunks)
    assert transport.protocol is http and http.transport is transport
    assert http.received == b"".join(chunks)
    assert tunnels.opened == []


def test_a_connect_head_in_pieces_opens_a_tunnel_with_what_followed_it() -> None:
    transport, http, tunnels = sniff(b"CONN", b"ECT h:443 HTTP/1.1\r\nHost: h", b":443\r\n\r\nTLS")
    assert tunnels.opened == [("h", 443, b"TLS")]
    assert not transport.reading, "nothing more is read until the tunnel is up"
    assert http.transport is None


def test_a_bad_connect_is_refused_and_closed() -> None:
    transport, _, tunnels = sniff(b"CONNECT nowhere HTTP/1.1\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 400 ") and transport.closed
    assert tunnels.opened == []
    transport, _, _ = sniff(b"CONNECT h:1 HTTP/1.1\r\n" + b"X: y\r\n" * 4000)
    assert transport.written.startswith(b"HTTP/1.1 400 ") and transport.closed
