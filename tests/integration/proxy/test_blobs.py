"""The store path for blobs: streaming, single flight, ranges, HEAD, integrity, redirects,
and the fallback when the store's disk is full."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.integration.proxy.conftest import StartProxy
from tests.integration.proxy.registry_double import SIGNATURE, RegistryDouble

MIB = 1 << 20
REPO = "test/img"
PIECE = 4 * MIB


async def test_the_first_piece_goes_out_before_the_blob_is_downloaded(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 20 * MIB)
    gate = registry.gate(blob, after=PIECE + MIB)  # the source stalls after one piece
    proxy = await start_proxy()
    async with client.get(proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")) as response:
        assert response.status == 200
        first = await response.content.readexactly(PIECE)
        assert not gate.open.is_set(), "the first piece arrived while the source was stalled"
        assert first == blob.data()[:PIECE]
        gate.open.set()
        rest = await response.read()
    assert first + rest == blob.data()


async def test_concurrent_clients_share_one_upstream_download(
    start_proxy: StartProxy, registry: RegistryDouble
) -> None:
    blob = registry.add_blob(REPO, 24 * MIB)
    gate = registry.gate(blob, after=MIB)  # less than a piece: nobody can finish early
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    # One connection each: 16 clients, as 16 containerd instances would be.
    sessions = [aiohttp.ClientSession(auto_decompress=False) for _ in range(16)]
    try:
        # Every client has its answer's head while the source is stalled: all are in.
        responses = await asyncio.gather(*(session.get(url) for session in sessions))
        assert [r.status for r in responses] == [200] * 16
        gate.open.set()
        bodies = await asyncio.gather(*(r.read() for r in responses))
    finally:
        for session in sessions:
            await session.close()
    assert all(body == blob.data() for body in bodies)
    assert {r.headers["X-Dragonfly-Task-ID"] for r in responses} == {blob.hex}
    assert registry.blob_gets(blob) == 1
    assert await proxy.metric("swarmfly_daemon_source_bytes_total") == blob.size
    prefix = 'swarmfly_proxy_requests_total{mode="mirror",outcome='
    assert await proxy.metric(prefix + '"downloaded"}') == 1
    assert await proxy.metric(prefix + '"joined"}') == 15


async def test_ranges_are_206_from_the_store(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 10 * MIB + 5)
    data = blob.data()
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    async with client.get(url) as response:
        assert await response.read() == data

    cases = {
        f"bytes={9 * MIB}-": (9 * MIB, blob.size - 1),  # containerd resuming an ingest
        "bytes=100-4194403": (100, 4194403),  # across a piece boundary
        "bytes=-10": (blob.size - 10, blob.size - 1),
        f"bytes=5-{blob.size + 100}": (5, blob.size - 1),
    }
    for value, (first, last) in cases.items():
        async with client.get(url, headers={"Range": value}) as response:
            assert response.status == 206, value
            assert response.headers["Content-Range"] == f"bytes {first}-{last}/{blob.size}"
            assert await response.read() == data[first : last + 1], value
            assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
    async with client.get(url, headers={"Range": f"bytes={blob.size}-"}) as response:
        assert response.status == 416
        assert response.headers["Content-Range"] == f"bytes */{blob.size}"
    assert registry.blob_gets(blob) == 1


async def test_a_resume_deep_into_an_unfetched_blob_goes_to_the_source_as_a_range(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 12 * MIB)
    data = blob.data()
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    start = 78 * MIB // 10
    async with client.get(url, headers={"Range": f"bytes={start}-"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes {start}-{blob.size - 1}/{blob.size}"
        assert response.headers["X-Dragonfly-Task-ID"] == blob.hex
        assert await response.read() == data[start:]
    assert [r.header("Range") for r in registry.seen("GET", "/blobs/")] == [[f"bytes={start}-"]]
    assert await proxy.metric("swarmfly_daemon_source_bytes_total") == 0, "nothing stored"

    # A range inside the first piece starts the whole (shared) download instead.
    async with client.get(url, headers={"Range": "bytes=10-20"}) as response:
        assert response.status == 206
        assert await response.read() == data[10:21]
    gets = registry.seen("GET", "/blobs/")
    assert len(gets) == 2 and gets[1].header("Range") == []


async def test_a_resume_after_a_cut_pull_resumes_the_task_in_the_store(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 14 * MIB)
    data = blob.data()
    registry.cut[blob.digest] = 2 * PIECE + MIB  # the registry dies after two pieces and a bit
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with client.get(url) as response:
            async for chunk in response.content.iter_any():
                received += chunk
    # Whole stored pieces and not a byte more. Two, unless the connection's reset dropped
    # bytes still in flight before the second piece was whole (the kernel discards them).
    assert len(received) in (PIECE, 2 * PIECE), "whole stored pieces, and not a byte more"
    assert received == data[: len(received)]

    del registry.cut[blob.digest]  # the registry is back; containerd resumes its ingest
    async with client.get(url, headers={"Range": f"bytes={len(received)}-"}) as response:
        assert response.status == 206
        assert await response.read() == data[len(received) :]
    resumed = registry.seen("GET", "/blobs/")[-1]
    assert resumed.header("Range") == [f"bytes={len(received)}-{blob.size - 1}"], "its resume"
    async with client.get(url) as response:  # and the blob is whole in the store now
        assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
        assert await response.read() == data


async def test_a_range_joins_a_download_in_flight(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 16 * MIB)
    data = blob.data()
    gate = registry.gate(blob, after=MIB)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    async with client.get(url) as whole:
        await gate.reached.wait()
        ranged = asyncio.ensure_future(client.get(url, headers={"Range": f"bytes={12 * MIB}-"}))
        gate.open.set()
        assert await whole.read() == data
    async with await ranged as response:
        assert response.status == 206
        assert await response.read() == data[12 * MIB :]
    assert registry.blob_gets(blob) == 1


async def test_head_on_a_stored_blob_is_answered_by_the_store(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 3 * MIB)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    async with client.head(url) as response:  # not stored yet: the registry answers
        assert response.status == 200
        assert "X-Dragonfly-Task-Download-Finished" not in response.headers
    assert len(registry.seen("HEAD", "/blobs/")) == 1
    async with client.get(url) as response:
        await response.read()
    for _ in range(3):
        async with client.head(url) as response:
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == blob.size
            assert response.headers["Docker-Content-Digest"] == blob.digest
            assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
    # One more HEAD upstream: the access check that found the repository public (cached).
    assert len(registry.seen("HEAD", "/blobs/")) == 2


async def test_a_blob_that_fails_its_digest_is_cut_before_its_end_and_not_kept(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 9 * MIB)
    registry.corrupt.add(blob.digest)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with client.get(url) as response:
            assert response.status == 200
            async for chunk in response.content.iter_any():
                received += chunk
    assert len(received) < blob.size, "the last byte never went out"
    registry.corrupt.discard(blob.digest)
    async with client.get(url) as response:  # the bad bytes were not kept: fetched again
        assert await response.read() == blob.data()
        assert "X-Dragonfly-Task-Download-Finished" not in response.headers
    assert registry.blob_gets(blob) == 2


async def test_a_redirect_to_signed_storage_is_followed_inside_the_daemon(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 5 * MIB)
    registry.redirect = True
    registry.private.add(REPO)
    registry.accepted.add("Bearer pull-token")
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    async with client.get(url, headers={"Authorization": "Bearer pull-token"}) as response:
        assert response.status == 200, "the client never sees the 307"
        assert response.headers["X-Dragonfly-Task-ID"] == blob.hex
        assert await response.read() == blob.data()
    (fetched,) = registry.seen("GET", "/storage/")
    assert f"X-Amz-Signature={SIGNATURE}" in fetched.query, "the signature survived"
    assert fetched.header("Authorization") == [], "credentials stay with the registry"
    assert registry.seen("GET", "/blobs/")[0].header("Authorization") == ["Bearer pull-token"]


async def test_a_full_disk_falls_back_to_streaming_straight_through(
    start_proxy: StartProxy,
    registry: RegistryDouble,
    client: aiohttp.ClientSession,
    small_disk: Path,
) -> None:
    blob = registry.add_blob(REPO, 24 * MIB)
    proxy = await start_proxy(storage={"dir": str(small_disk / "store")})
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")
    async with client.get(url) as response:
        assert response.status == 200
        assert await response.read() == blob.data()
    assert await proxy.metric('swarmfly_proxy_requests_total{mode="mirror",outcome="fallback"}')
    assert await proxy.metric('swarmfly_proxy_bytes_total{origin="upstream"}') == blob.size
    # Still the fallback, verified as it streams: a corrupt blob is cut before its end.
    registry.corrupt.add(blob.digest)
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with client.get(url) as response:
            async for chunk in response.content.iter_any():
                received += chunk
    assert len(received) < blob.size
