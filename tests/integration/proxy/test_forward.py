"""The proxy as a forward proxy: absolute-form requests, task-ID headers, CONNECT tunnels."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from swarmfly import idgen
from tests.integration.proxy.conftest import StartProxy
from tests.integration.proxy.registry_double import RegistryDouble
from tests.support.origin import Origin

MIB = 1 << 20


async def test_absolute_form_requests_are_proxied_and_rules_pick_the_store(
    start_proxy: StartProxy,
    registry: RegistryDouble,
    origin: Origin,
    client: aiohttp.ClientSession,
) -> None:
    blob = registry.add_blob("test/img", 5 * MIB)
    origin.add_file("page.html", 3000)
    proxy = await start_proxy()
    blob_url = f"{registry.url}/v2/test/img/blobs/{blob.digest}"
    for _ in range(2):
        async with client.get(blob_url, proxy=proxy.url) as response:
            assert response.status == 200
            assert response.headers["X-Dragonfly-Task-ID"] == blob.hex
            assert await response.read() == blob.data()
    assert registry.blob_gets(blob) == 1
    async with client.get(f"{origin.url}/page.html", proxy=proxy.url) as response:
        assert response.status == 200
        assert "X-Dragonfly-Task-ID" not in response.headers, "no rule matches: relayed"
        assert await response.read() == (origin.root / "page.html").read_bytes()
    assert await proxy.metric('swarmfly_proxy_requests_total{mode="forward",outcome="store_hit"}')
    assert await proxy.metric('swarmfly_proxy_requests_total{mode="forward",outcome="passthrough"}')


async def test_dragonfly_headers_name_the_task(
    start_proxy: StartProxy, origin: Origin, client: aiohttp.ClientSession
) -> None:
    _, digest = origin.add_file("file.bin", 6 * MIB)
    proxy = await start_proxy(proxy={"defaultFilter": "Expires&Signature&token"})
    url = f"{origin.url}/file.bin?Expires=1&Signature=x&token=t&keep=1"
    cases = [
        ({}, idgen.task_id(url, filtered_query_params=("Expires", "Signature", "token"))),
        (
            {"X-Dragonfly-Tag": "t1", "X-Dragonfly-Application": "app"},
            idgen.task_id(
                url,
                tag="t1",
                application="app",
                filtered_query_params=("Expires", "Signature", "token"),
            ),
        ),
        (
            {"X-Dragonfly-Filtered-Query-Params": "Expires,Signature,token,keep"},
            idgen.task_id(url, filtered_query_params=("Expires", "Signature", "token", "keep")),
        ),
        (
            {"X-Dragonfly-Piece-Length": str(8 * MIB)},
            idgen.task_id(
                url, piece_length=8 * MIB, filtered_query_params=("Expires", "Signature", "token")
            ),
        ),
    ]
    for headers, task_id in cases:
        forced = {"X-Dragonfly-Use-P2P": "true", **headers}
        async with client.get(url, proxy=proxy.url, headers=forced) as response:
            assert response.status == 200, headers
            assert response.headers["X-Dragonfly-Task-ID"] == task_id, headers
            assert hashlib.sha256(await response.read()).hexdigest() == digest
    assert len({task_id for _, task_id in cases}) == 4
    # Another signature for the same file is the same task: served from the store.
    again = f"{origin.url}/file.bin?Expires=2&Signature=y&token=u&keep=1"
    async with client.get(again, proxy=proxy.url, headers={"X-Dragonfly-Use-P2P": "true"}) as r:
        assert r.headers["X-Dragonfly-Task-ID"] == cases[0][1]
        assert r.headers["X-Dragonfly-Task-Download-Finished"] == "true"
        await r.read()
    async with client.get(
        url,
        proxy=proxy.url,
        headers={"X-Dragonfly-Use-P2P": "true", "X-Dragonfly-Piece-Length": "1"},
    ) as response:
        assert response.status == 400
        assert response.headers["X-Dragonfly-Error-Type"] == "proxy"


@asynccontextmanager
async def echo_server() -> AsyncIterator[int]:
    """A TCP echo server that answers half-close with its own."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def connect(
    proxy_port: int, target: str, early: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode() + early)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return reader, writer, head


async def test_connect_tunnels_raw_bytes_both_ways(start_proxy: StartProxy) -> None:
    proxy = await start_proxy()
    payload = os.urandom(24 * MIB)
    async with echo_server() as port:
        reader, writer, head = await connect(proxy.port, f"127.0.0.1:{port}", early=b"hello")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert await reader.readexactly(5) == b"hello", "bytes sent with the CONNECT got through"

        async def send() -> None:
            for start in range(0, len(payload), MIB):
                writer.write(payload[start : start + MIB])
                await writer.drain()
            writer.write_eof()

        sending = asyncio.ensure_future(send())
        echoed = await reader.read()  # until the echo server's half-close comes through
        await sending
        writer.close()
    assert echoed == payload
    assert await proxy.metric('swarmfly_proxy_requests_total{mode="tunnel",outcome="tunnel"}') == 1
    assert await proxy.metric('swarmfly_proxy_bytes_total{origin="tunnel"}') == 2 * len(payload) + 5


async def test_connect_reaches_an_http_server_untouched(
    start_proxy: StartProxy, origin: Origin
) -> None:
    _, digest = origin.add_file("tunnelled.bin", 3 * MIB)
    proxy = await start_proxy()
    reader, writer, head = await connect(proxy.port, f"127.0.0.1:{origin.port}")
    assert head.startswith(b"HTTP/1.1 200 ")
    writer.write(b"GET /tunnelled.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert hashlib.sha256(body).hexdigest() == digest
    assert origin.gets("tunnelled.bin") == 1


@pytest.mark.parametrize(
    ("target", "status"),
    [("127.0.0.1:9", b"503"), ("no-port-here", b"400"), ("127.0.0.1:0", b"400")],
)
async def test_a_refused_tunnel_says_why(
    start_proxy: StartProxy, target: str, status: bytes
) -> None:
    proxy = await start_proxy()
    reader, writer, head = await connect(proxy.port, target)
    assert head.split(b" ")[1] == status
    assert b"X-Dragonfly-Error-Type: proxy" in head
    assert await reader.read() != b""
    writer.close()


async def test_plain_requests_and_tunnels_share_the_port(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy()
    async with echo_server() as port:
        reader, writer, _ = await connect(proxy.port, f"127.0.0.1:{port}")
        async with client.get(f"{registry.url}/v2/", proxy=proxy.url) as response:
            assert response.status == 200
        writer.write(b"still here")
        assert await reader.readexactly(10) == b"still here"
        writer.close()


async def test_a_connect_after_other_requests_on_a_connection_is_refused(
    start_proxy: StartProxy, registry: RegistryDouble
) -> None:
    proxy = await start_proxy()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    target = f"{registry.url}/v2/"
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {registry.host}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    writer.write(f"CONNECT {registry.host} HTTP/1.1\r\nHost: {registry.host}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"X-Dragonfly-Error-Type: proxy" in head
    writer.close()
