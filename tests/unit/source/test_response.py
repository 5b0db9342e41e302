"""Bodies that break off: resumed to the exact bytes, or refused, never spliced wrong."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from swarmfly.source import (
    ByteRange,
    RetryPolicy,
    SourceClient,
    SourceRequest,
    SourceResponse,
    SourceTimeout,
    SourceUnavailable,
)

from .conftest import DATA, DATA_SHA256, HALF, Blob, Origins, Recorder

Collect = Callable[[SourceResponse, bytearray], Awaitable[None]]


async def by_chunks(response: SourceResponse, into: bytearray) -> None:
    # Test-only buffering of a 2 MiB body, kept in ``into`` so a failure shows what arrived.
    async for chunk in response.iter_chunks(256 * 1024):
        into += chunk


async def by_pump(response: SourceResponse, into: bytearray) -> None:
    calls = 0

    def sink(data: memoryview) -> None:  # on a worker thread, one call at a time
        nonlocal calls
        calls += 1
        into.extend(data)

    await response.pump(sink)
    assert calls > 0 or not into


@pytest.fixture(params=["iter_chunks", "pump"])
def collect(request: pytest.FixtureRequest) -> Collect:
    """Every body test runs both ways a body is read: chunks on the loop, and the pump."""
    return by_chunks if request.param == "iter_chunks" else by_pump


async def serve(origins: Origins, blob: Blob) -> str:
    origin = origins.new()
    origin.blob("/blob", blob)
    await origins.start(origin)
    return origin.url("/blob")


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_dropped_body_resumes_from_the_next_byte(
    collect: Collect, client: SourceClient, origins: Origins, recorder: Recorder, chunked: bool
) -> None:
    blob = Blob(faults=["drop"], chunked=chunked)
    url = await serve(origins, blob)
    body = bytearray()
    async with client.get(SourceRequest(url)) as response:
        assert response.content_length == (None if chunked else len(DATA))
        await collect(response, body)
    assert hashlib.sha256(body).hexdigest() == DATA_SHA256
    resumed = blob.requests[1].headers
    last = "" if chunked else str(len(DATA) - 1)
    assert resumed["Range"] == f"bytes={HALF}-{last}"
    assert resumed["If-Range"] == '"v1"'
    assert recorder.delays == [0.2]


async def test_repeated_drops_resume_each_time(
    collect: Collect, client: SourceClient, origins: Origins, recorder: Recorder
) -> None:
    blob = Blob(faults=["drop", "drop", "drop"])
    url = await serve(origins, blob)
    body = bytearray()
    async with client.get(SourceRequest(url)) as response:
        await collect(response, body)
    assert hashlib.sha256(body).hexdigest() == DATA_SHA256
    starts = [r.headers.get("Range") for r in blob.requests]
    assert starts[0] is None and len(starts) == 4
    # progress was made before each drop, so the backoff starts over every time
    assert recorder.delays == [0.2, 0.2, 0.2]


async def test_a_dropped_range_resumes_within_the_range(
    collect: Collect, client: SourceClient, origins: Origins
) -> None:
    blob = Blob(faults=["drop"])
    url = await serve(origins, blob)
    wanted = ByteRange(1000, 1000 + 1024 * 1024 - 1)
    body = bytearray()
    async with client.get(SourceRequest(url, range=wanted)) as response:
        assert (response.status, response.start, response.content_length) == (206, 1000, 1 << 20)
        await collect(response, body)
    assert body == DATA[1000 : 1000 + 1024 * 1024]
    assert blob.requests[1].headers["Range"] == f"bytes={1000 + (1 << 19)}-{wanted.end}"


@pytest.mark.parametrize("advertised", ["none", None])
async def test_without_range_support_a_drop_is_unavailable_not_wrong_bytes(
    collect: Collect, client: SourceClient, origins: Origins, advertised: str | None
) -> None:
    blob = Blob(faults=["drop"], ranges=False, advertise_ranges=advertised)
    url = await serve(origins, blob)
    body = bytearray()
    with pytest.raises(SourceUnavailable):
        async with client.get(SourceRequest(url)) as response:
            await collect(response, body)
    assert 0 < len(body) < len(DATA)
    assert body == DATA[: len(body)]
    # "Accept-Ranges: none" is believed; otherwise one ranged try shows it is ignored
    assert len(blob.requests) == (1 if advertised == "none" else 2)


async def test_a_changed_object_is_not_spliced(
    collect: Collect, client: SourceClient, origins: Origins
) -> None:
    blob = Blob(faults=["drop"], etag_after_first='"v2"')
    url = await serve(origins, blob)
    body = bytearray()
    with pytest.raises(SourceUnavailable, match="answered 200"):
        async with client.get(SourceRequest(url)) as response:
            await collect(response, body)
    assert body == DATA[: len(body)]
    assert len(blob.requests) == 2


async def test_drops_beyond_the_policy_give_up(
    collect: Collect, session: aiohttp.ClientSession, origins: Origins, recorder: Recorder
) -> None:
    client = SourceClient(session, retry=RetryPolicy(attempts=2, jitter=0.0), sleep=recorder.sleep)
    # the resumed request drops before sending anything new: no progress between failures
    blob = Blob(faults=["drop", "drop", "drop"], data=DATA[:2])
    url = await serve(origins, blob)
    with pytest.raises(SourceUnavailable):
        async with client.get(SourceRequest(url)) as response:
            await collect(response, bytearray())
    assert len(blob.requests) == 2


async def test_a_stalled_body_resumes_after_the_read_timeout(
    collect: Collect, session: aiohttp.ClientSession, origins: Origins, recorder: Recorder
) -> None:
    client = SourceClient(
        session, retry=RetryPolicy(jitter=0.0), sleep=recorder.sleep, read_timeout=0.2
    )
    blob = Blob(faults=["stall"])
    url = await serve(origins, blob)
    body = bytearray()
    async with client.get(SourceRequest(url)) as response:
        await collect(response, body)
    assert hashlib.sha256(body).hexdigest() == DATA_SHA256
    assert blob.requests[1].headers["Range"] == f"bytes={HALF}-{len(DATA) - 1}"


async def test_a_source_that_keeps_stalling_times_out(
    collect: Collect, session: aiohttp.ClientSession, origins: Origins, recorder: Recorder
) -> None:
    client = SourceClient(
        session, retry=RetryPolicy(attempts=2, jitter=0.0), sleep=recorder.sleep, read_timeout=0.2
    )
    blob = Blob(faults=["stall", "stall"], data=DATA[:2])
    url = await serve(origins, blob)
    with pytest.raises(SourceTimeout):
        async with client.get(SourceRequest(url)) as response:
            await collect(response, bytearray())


async def test_the_total_timeout_covers_resumes(
    collect: Collect, client: SourceClient, origins: Origins, recorder: Recorder
) -> None:
    # read_timeout is 5 s; the 0.3 s total budget is what ends this, mid-body
    blob = Blob(faults=["stall"] * 5)
    url = await serve(origins, blob)
    started = time.monotonic()
    with pytest.raises(SourceTimeout):
        async with client.get(SourceRequest(url, timeout=0.3)) as response:
            await collect(response, bytearray())
    assert time.monotonic() - started < 5.0  # not the read timeout
    assert len(blob.requests) == 1


async def test_a_200_to_a_range_is_sliced(
    collect: Collect, client: SourceClient, origins: Origins
) -> None:
    blob = Blob(ranges=False, advertise_ranges=None)
    url = await serve(origins, blob)
    body = bytearray()
    async with client.get(SourceRequest(url, range=ByteRange(100, 199))) as response:
        assert (response.status, response.start, response.content_length) == (206, 100, 100)
        assert response.total_length == len(DATA)
        assert not response.accepts_ranges
        await collect(response, body)
    assert body == DATA[100:200]
