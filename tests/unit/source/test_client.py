"""SourceClient against real loopback origins: redirects, statuses, retries and headers."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from swarmfly.ratelimit import RateLimiter
from swarmfly.source import (
    MAX_ERROR_BODY,
    ByteRange,
    RangeNotSatisfiable,
    RetryPolicy,
    SourceClient,
    SourceRequest,
    SourceResponse,
    SourceStatusError,
    SourceUnavailable,
    SourceURLError,
)

from .conftest import DATA, DATA_SHA256, SIGNED_QUERY, TOKEN, FakeClock, Origins, Recorder


async def read_all(response: SourceResponse, chunk_size: int = 1 << 20) -> bytes:
    # Test-only: the data is 2 MiB, and comparing whole bodies is the point.
    body = bytearray()
    async for chunk in response.iter_chunks(chunk_size):
        assert 0 < len(chunk) <= chunk_size
        body += chunk
    return bytes(body)


async def file_origin(origins: Origins, blob_file: Path) -> str:
    origin = origins.new()

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(blob_file)

    origin.route("/blob", handler)
    await origins.start(origin)
    return origin.url("/blob")


async def test_get_streams_the_exact_bytes(
    client: SourceClient, origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    async with client.get(SourceRequest(url)) as response:
        assert (response.status, response.start) == (200, 0)
        assert response.content_length == response.total_length == len(DATA)
        assert response.accepts_ranges
        assert response.url == url
        body = await read_all(response, chunk_size=64 * 1024)
    assert hashlib.sha256(body).hexdigest() == DATA_SHA256


async def test_a_range_is_asked_for_and_described(
    client: SourceClient, origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    async with client.get(SourceRequest(url, range=ByteRange(100, 1099))) as response:
        assert (response.status, response.start, response.content_length) == (206, 100, 1000)
        assert response.total_length == len(DATA)
        assert await read_all(response) == DATA[100:1100]


async def test_a_range_past_the_end_is_not_satisfiable(
    client: SourceClient, origins: Origins, blob_file: Path, recorder: Recorder
) -> None:
    url = await file_origin(origins, blob_file)
    with pytest.raises(RangeNotSatisfiable) as info:
        async with client.get(SourceRequest(url, range=ByteRange(len(DATA)))):
            pytest.fail("unreachable")
    assert info.value.total_length == len(DATA)
    assert recorder.delays == []


async def test_registry_redirect_to_signed_storage(client: SourceClient, origins: Origins) -> None:
    storage = origins.new()
    seen: list[tuple[str, str | None, str | None]] = []

    async def signed(request: web.Request) -> web.Response:
        seen.append(
            (request.raw_path, request.headers.get("Authorization"), request.headers.get("X-Trace"))
        )
        return web.Response(body=DATA)

    storage.route("/bucket/sha256/ab/data", signed)
    await origins.start(storage)
    location = storage.url("/bucket/sha256/ab/data") + "?" + SIGNED_QUERY
    registry = origins.new()

    async def blob(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != TOKEN:
            return web.Response(status=401, text="no token")
        # Not web.HTTPTemporaryRedirect: it re-quotes the Location, as yarl does.
        return web.Response(status=307, headers={"Location": location})

    registry.route("/v2/library/alpine/blobs/sha256:ab", blob)
    await origins.start(registry)

    headers = [("Authorization", TOKEN), ("X-Trace", "t1")]
    url = registry.url("/v2/library/alpine/blobs/sha256:ab") + "?ns=docker.io"
    async with client.get(SourceRequest(url, headers=headers)) as response:
        assert response.url == location
        assert await read_all(response) == DATA
    assert seen == [("/bucket/sha256/ab/data?" + SIGNED_QUERY, None, "t1")]


async def test_a_same_origin_redirect_keeps_credentials(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()

    async def old(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/new?x=%2F"})

    async def new(request: web.Request) -> web.Response:
        assert request.raw_path == "/new?x=%2F"
        if request.headers.get("Authorization") != TOKEN:
            return web.Response(status=401)
        return web.Response(body=b"moved")

    origin.route("/old", old)
    origin.route("/new", new)
    await origins.start(origin)
    request = SourceRequest(origin.url("/old"), headers=[("Authorization", TOKEN)])
    async with client.get(request) as response:
        assert await read_all(response) == b"moved"


@pytest.mark.parametrize("location", [None, "/loop"])
async def test_unfollowable_redirects_are_status_errors(
    client: SourceClient, origins: Origins, recorder: Recorder, location: str | None
) -> None:
    origin = origins.new()

    async def loop(request: web.Request) -> web.Response:
        headers = {} if location is None else {"Location": location}
        return web.Response(status=307, headers=headers, text="go away")

    origin.route("/loop", loop)
    await origins.start(origin)
    with pytest.raises(SourceStatusError) as info:
        async with client.get(SourceRequest(origin.url("/loop"))):
            pytest.fail("unreachable")
    assert (info.value.status, info.value.body) == (307, b"go away")
    assert recorder.delays == []


async def test_503_with_retry_after_is_retried(
    client: SourceClient, origins: Origins, recorder: Recorder
) -> None:
    origin = origins.new()
    attempts = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            return web.Response(status=503, headers={"Retry-After": "2"}, text="busy")
        return web.Response(body=DATA)

    origin.route("/flaky", flaky)
    await origins.start(origin)
    async with client.get(SourceRequest(origin.url("/flaky"))) as response:
        assert await read_all(response) == DATA
    assert attempts == 3
    assert recorder.delays == [2.0, 2.0]


async def test_persistent_5xx_gives_up_after_the_policy(
    client: SourceClient, origins: Origins, recorder: Recorder
) -> None:
    origin = origins.new()

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway", headers={"X-Why": "upstream"})

    origin.route("/broken", broken)
    await origins.start(origin)
    with pytest.raises(SourceStatusError) as info:
        async with client.get(SourceRequest(origin.url("/broken"))):
            pytest.fail("unreachable")
    assert (info.value.status, info.value.body) == (502, b"bad gateway")
    assert info.value.headers["X-Why"] == "upstream"
    assert recorder.delays == pytest.approx([0.2, 0.4, 0.8, 1.6])


async def test_404_passes_status_headers_and_body_without_retrying(
    client: SourceClient, origins: Origins, recorder: Recorder
) -> None:
    origin = origins.new()

    async def missing(request: web.Request) -> web.Response:
        return web.json_response({"errors": [{"code": "BLOB_UNKNOWN"}]}, status=404)

    origin.route("/missing", missing)
    await origins.start(origin)
    with pytest.raises(SourceStatusError) as info:
        async with client.get(SourceRequest(origin.url("/missing"))):
            pytest.fail("unreachable")
    assert info.value.status == 404
    assert json.loads(info.value.body) == {"errors": [{"code": "BLOB_UNKNOWN"}]}
    assert info.value.headers["Content-Type"].startswith("application/json")
    assert recorder.delays == []


async def test_an_error_body_is_read_only_up_to_its_prefix(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()

    async def huge(request: web.Request) -> web.Response:
        return web.Response(status=403, body=DATA)

    origin.route("/huge", huge)
    await origins.start(origin)
    with pytest.raises(SourceStatusError) as info:
        async with client.get(SourceRequest(origin.url("/huge"))):
            pytest.fail("unreachable")
    assert info.value.body == DATA[:MAX_ERROR_BODY]


async def test_connection_refused_is_unavailable_after_retries(
    client: SourceClient, closed_port: int, recorder: Recorder
) -> None:
    with pytest.raises(SourceUnavailable) as info:
        async with client.get(SourceRequest(f"http://127.0.0.1:{closed_port}/blob")):
            pytest.fail("unreachable")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert len(recorder.delays) == 4


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "not a url", "http:///nohost"])
async def test_unfetchable_urls_are_refused_at_once(
    client: SourceClient, recorder: Recorder, url: str
) -> None:
    with pytest.raises(SourceURLError):
        async with client.get(SourceRequest(url)):
            pytest.fail("unreachable")
    assert recorder.delays == []


async def test_headers_reach_the_origin_minus_hop_by_hop(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(list(request.headers.items()))

    origin.route("/echo", echo)
    await origins.start(origin)
    headers = [
        ("Accept", "application/vnd.oci.image.index.v1+json"),
        ("Accept", "application/vnd.docker.distribution.manifest.list.v2+json"),
        ("Connection", "X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Proxy-Authorization", "Basic cHJveHk="),
        ("Range", "bytes=0-0"),
    ]
    async with client.get(SourceRequest(origin.url("/echo"), headers=headers)) as response:
        received = json.loads(await read_all(response))
    names = [name.lower() for name, _ in received]
    assert [v for n, v in received if n == "Accept"] == [headers[0][1], headers[1][1]]
    assert ["Accept-Encoding", "identity"] in received
    assert not {"x-secret-hop", "proxy-authorization", "range"} & set(names)


async def test_compressed_bodies_arrive_as_the_origin_sent_them(
    client: SourceClient, origins: Origins
) -> None:
    origin = origins.new()
    packed = gzip.compress(DATA[:4096])

    async def gz(request: web.Request) -> web.Response:
        return web.Response(body=packed, headers={"Content-Encoding": "gzip"})

    origin.route("/gz", gz)
    await origins.start(origin)
    async with client.get(SourceRequest(origin.url("/gz"))) as response:
        assert await read_all(response) == packed


@pytest.mark.parametrize("reader", ["iter_chunks", "pump"])
async def test_bodies_are_rate_limited(
    session: aiohttp.ClientSession,
    origins: Origins,
    blob_file: Path,
    policy: RetryPolicy,
    reader: str,
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(1024 * 1024, burst=256 * 1024, clock=clock, sleep=clock.sleep)
    client = SourceClient(session, retry=policy, rate_limiter=limiter)
    url = await file_origin(origins, blob_file)
    async with client.get(SourceRequest(url)) as response:
        if reader == "pump":
            body = bytearray()
            await response.pump(body.extend)
            assert body == DATA
        else:
            assert await read_all(response, chunk_size=128 * 1024) == DATA
    assert clock.now - 1000.0 == pytest.approx((len(DATA) - 256 * 1024) / (1024 * 1024))


async def test_head_gives_metadata(client: SourceClient, origins: Origins, blob_file: Path) -> None:
    url = await file_origin(origins, blob_file)
    metadata = await client.head(SourceRequest(url))
    assert (metadata.status, metadata.total_length, metadata.accepts_ranges) == (
        200,
        len(DATA),
        True,
    )
    assert metadata.url == url


async def test_head_errors_are_status_errors(client: SourceClient, origins: Origins) -> None:
    origin = origins.new()
    await origins.start(origin)
    with pytest.raises(SourceStatusError) as info:
        await client.head(SourceRequest(origin.url("/nothing")))
    assert (info.value.status, info.value.body) == (404, b"")


async def test_open_owns_a_session_and_releases_unread_responses(
    origins: Origins, blob_file: Path
) -> None:
    url = await file_origin(origins, blob_file)
    # One connection: if leaving a half-read response did not release it, the second get
    # would wait for it forever (and pytest-timeout would fail the test).
    async with SourceClient.open(connection_limit=1) as client:
        async with client.get(SourceRequest(url)) as response:
            async for _chunk in response.iter_chunks(1024):
                break
        async with client.get(SourceRequest(url, range=ByteRange(0, 9))) as response:
            assert await read_all(response) == DATA[:10]


async def test_retries_are_logged_with_the_signature_redacted(
    client: SourceClient, origins: Origins, caplog: pytest.LogCaptureFixture
) -> None:
    origin = origins.new()
    attempts = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        return web.Response(status=429 if attempts == 1 else 200, body=b"ok")

    origin.route("/signed", flaky)
    await origins.start(origin)
    url = origin.url("/signed") + "?X-Amz-Signature=top-secret&Expires=1"
    with caplog.at_level("WARNING", logger="swarmfly.source"):
        async with client.get(SourceRequest(url)) as response:
            assert await read_all(response) == b"ok"
    (record,) = caplog.records
    assert record.getMessage() == "source request retried"
    assert (record.status, record.attempt) == (429, 1)  # type: ignore[attr-defined]
    assert "top-secret" not in record.url  # type: ignore[attr-defined]
