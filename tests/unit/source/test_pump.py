"""The pump: a body handed to a sink on a worker thread, with the sink's failures its own."""

from __future__ import annotations

import asyncio
import base64
import threading
from pathlib import Path

import pytest
from aiohttp import web

from swarmfly.errors import StorageFull
from swarmfly.source import SourceClient, SourceRequest

from .conftest import DATA, Blob, Origins
from .test_client import file_origin


async def test_the_sink_gets_every_byte_on_a_thread_off_the_loop(
    client: SourceClient, origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    body = bytearray()
    threads: set[int] = set()

    def sink(data: memoryview) -> None:
        threads.add(threading.get_ident())
        body.extend(data)

    async with client.get(SourceRequest(url)) as response:
        await response.pump(sink)
    assert body == DATA
    assert threading.get_ident() not in threads


async def test_a_failing_sink_stops_the_pump_with_its_own_error(
    client: SourceClient, origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    calls = 0

    def sink(data: memoryview) -> None:
        nonlocal calls
        calls += 1
        raise StorageFull("no room")

    # A sink's failure is not the source's: no resume, no retry, the error as raised.
    with pytest.raises(StorageFull, match="no room"):
        async with client.get(SourceRequest(url)) as response:
            await response.pump(sink)
    assert calls == 1


async def test_a_cancelled_pump_never_calls_the_sink_again(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()
    # Half the body, then nothing: the pump's thread is left blocked reading the socket.
    origin.blob("/blob", Blob(faults=["stall"]))
    await origins.start(origin)
    arrived = asyncio.Event()
    loop = asyncio.get_running_loop()
    calls_after_cancel: list[int] = []
    cancelled = False

    def sink(data: memoryview) -> None:
        if cancelled:
            calls_after_cancel.append(len(data))
        loop.call_soon_threadsafe(arrived.set)

    async with client.get(SourceRequest(origin.url("/blob"))) as response:
        pumping = asyncio.create_task(response.pump(sink))
        await arrived.wait()
        pumping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pumping
        cancelled = True
    assert calls_after_cancel == []


async def test_plain_http_connections_are_kept_alive(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.Response(body=DATA[:1000])

    origin.route("/small", handler)
    await origins.start(origin)
    for _ in range(3):
        body = bytearray()
        async with client.get(SourceRequest(origin.url("/small"))) as response:
            await response.pump(body.extend)
        assert body == DATA[:1000]
    assert len(peers) == 3 and len(set(peers)) == 1


async def test_credentials_in_the_url_go_as_basic_auth_and_never_in_host(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()
    seen: list[tuple[str | None, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization"), request.headers.get("Host")))
        return web.Response(body=b"ok")

    origin.route("/private", handler)
    await origins.start(origin)
    url = origin.url("/private").replace("http://", "http://robot:s%3Acret@")
    body = bytearray()
    async with client.get(SourceRequest(url)) as response:
        await response.pump(body.extend)
    assert body == b"ok"
    [(authorization, host)] = seen
    assert authorization == "Basic " + base64.b64encode(b"robot:s:cret").decode()
    assert host is not None and "robot" not in host and "@" not in host
