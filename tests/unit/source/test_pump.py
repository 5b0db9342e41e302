"""The pump: a body handed to a sink on a worker thread, with the sink's failures its own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import threading
from pathlib import Path

import pytest
from aiohttp import web

from swarmfly.digests import DigestThread, DigestVerifier, parse_digest
from swarmfly.errors import StorageFull
from swarmfly.source import SourceClient, SourceRequest
from swarmfly.source.response import PUMP_BUFFER_SIZE

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


@pytest.mark.parametrize("keeps", [0, 1, 3])
async def test_views_a_sink_keeps_stay_intact_for_keeps_more_calls(
    client: SourceClient, origins: Origins, tmp_path: Path, keeps: int
) -> None:
    # Long enough for the pump's buffers to be reused several times over.
    data = random.Random(keeps).randbytes(11 * PUMP_BUFFER_SIZE + 321)
    path = tmp_path / "long.bin"
    path.write_bytes(data)
    url = await file_origin(origins, path)
    kept: list[tuple[int, memoryview]] = []
    position = 0
    broken: list[int] = []

    def sink(view: memoryview) -> None:
        nonlocal position
        kept.append((position, view))
        position += len(view)
        # This view and the ``keeps`` before it must still hold what arrived.
        for start, held in kept[-(keeps + 1) :]:
            if held != data[start : start + len(held)]:
                broken.append(start)

    async with client.get(SourceRequest(url)) as response:
        await response.pump(sink, keeps=keeps)
    assert position == len(data) and not broken
    assert len(kept) > 2 * (keeps + 1)
    if keeps == 0:
        # Reuse is what the guarantee is about: an older view was written over.
        assert any(held != data[s : s + len(held)] for s, held in kept[:-2])


async def test_a_negative_keeps_is_refused(
    client: SourceClient, origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    async with client.get(SourceRequest(url)) as response:
        with pytest.raises(ValueError, match="keeps"):
            await response.pump(lambda view: None, keeps=-1)


async def test_a_digest_thread_behind_the_pump_hashes_every_byte_in_order(
    client: SourceClient, origins: Origins, tmp_path: Path
) -> None:
    data = random.Random(7).randbytes(9 * PUMP_BUFFER_SIZE + 5)
    path = tmp_path / "long.bin"
    path.write_bytes(data)
    url = await file_origin(origins, path)
    handed = threading.Condition()
    count = 0

    class LaggingVerifier(DigestVerifier):
        """Hashes view k only once the writer has handed over as many views as it may:
        the most the hash can lag, where a buffer reused too early would show."""

        seen = 0

        def update(self, chunk: bytes | memoryview) -> None:
            self.seen += 1
            with handed:
                handed.wait_for(lambda: count >= self.seen + thread.keeps - 1 or done)
            super().update(chunk)

    done = False
    verifier = LaggingVerifier(parse_digest("sha256:" + hashlib.sha256(data).hexdigest()))
    thread = DigestThread(verifier, keeps=2)

    def sink(view: memoryview) -> None:
        nonlocal count
        thread.update(view)
        with handed:
            count += 1
            handed.notify_all()

    try:
        async with client.get(SourceRequest(url)) as response:
            await response.pump(sink, keeps=thread.keeps)
        with handed:
            done = True
            handed.notify_all()
        await thread.drain()
    finally:
        thread.close()
    verifier.verify()
    assert verifier.size == len(data)
