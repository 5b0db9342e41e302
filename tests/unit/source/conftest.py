"""Real origins on loopback for the source client, each with a fault we can switch on.

Every origin is an aiohttp application on 127.0.0.1, port 0. Handlers count what they were
asked, so a test can check attempts and the headers that arrived. The client's retry sleep is
a recorder: tests assert the delays and take no real time.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from swarmfly.source import RetryPolicy, SourceClient

#: Small enough for two shared cores, large enough to span several reads and chunks.
DATA = random.Random(0).randbytes(2 * 1024 * 1024 + 123)
DATA_SHA256 = hashlib.sha256(DATA).hexdigest()
HALF = len(DATA) // 2

SIGNED_QUERY = "X-Amz-Signature=ab%2Fcd%3D%2B&Expires=1700000000&X-Amz-Credential=AK%2F2023%2Fs3"
TOKEN = "Bearer registry-token"

Fault = Literal["drop", "stall"]

#: Set when an origin shuts down, so a stalled handler can finish.
STALLED = web.AppKey("stalled", asyncio.Event)


@dataclass
class Blob:
    """How one path serves ``data``: its range support, validator and scripted faults.

    ``faults`` lists what happens to the first requests, in order: ``"drop"`` closes the
    connection after half the body, ``"stall"`` sends half and then nothing.
    """

    data: bytes = DATA
    ranges: bool = True
    advertise_ranges: str | None = "bytes"  # the Accept-Ranges header, if any
    etag: str | None = '"v1"'
    chunked: bool = False
    faults: list[Fault] = field(default_factory=list)
    etag_after_first: str | None = None  # the object changes once it has been served
    requests: list[web.Request] = field(default_factory=list)


@dataclass
class Recorder:
    """An injected ``sleep`` that records delays instead of waiting."""

    delays: list[float] = field(default_factory=list)

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass
class FakeClock:
    """A clock that moves only when something sleeps on it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay


def _body_range(request: web.Request, blob: Blob, etag: str | None) -> slice | None:
    """The slice a ranged request asks for, or None when the whole body is due."""
    if not blob.ranges or "Range" not in request.headers:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != etag:
        return None
    span = range(len(blob.data))[request.http_range]
    return slice(span.start, span.stop)


async def serve_blob(request: web.Request, blob: Blob) -> web.StreamResponse:
    """Serve ``blob`` with its scripted faults; the request number picks the fault."""
    number = len(blob.requests)
    blob.requests.append(request)
    etag = blob.etag if number == 0 or blob.etag_after_first is None else blob.etag_after_first
    wanted = _body_range(request, blob, etag)
    body = blob.data if wanted is None else blob.data[wanted]
    response = web.StreamResponse(status=200 if wanted is None else 206)
    if wanted is not None:
        response.headers["Content-Range"] = (
            f"bytes {wanted.start}-{wanted.stop - 1}/{len(blob.data)}"
        )
    if etag is not None:
        response.headers["ETag"] = etag
    if blob.advertise_ranges is not None:
        response.headers["Accept-Ranges"] = blob.advertise_ranges
    if blob.chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = len(body)
    await response.prepare(request)
    fault = blob.faults[number] if number < len(blob.faults) else None
    if fault is None:
        await response.write(body)
        await response.write_eof()
        return response
    await response.write(body[: len(body) // 2])
    if fault == "stall":
        await request.app[STALLED].wait()  # until the client gives up and disconnects
    assert request.transport is not None
    request.transport.close()
    return response


@dataclass
class Origin:
    """A running origin: register handlers with :meth:`route`, then fetch :meth:`url`."""

    app: web.Application
    server: TestServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def route(self, path: str, handler: Callable[[web.Request], object]) -> None:
        self.app.router.add_route("*", path, handler)  # type: ignore[arg-type]

    def blob(self, path: str, blob: Blob | None = None) -> Blob:
        """Serve a :class:`Blob` at ``path`` and return it, to read its requests later."""
        blob = blob or Blob()

        async def handler(request: web.Request) -> web.StreamResponse:
            return await serve_blob(request, blob)

        self.route(path, handler)
        return blob


class Origins:
    """Makes origins whose routes are added before they start (aiohttp freezes the router)."""

    def __init__(self) -> None:
        self._servers: list[TestServer] = []

    def new(self) -> Origin:
        app = web.Application()
        app[STALLED] = asyncio.Event()
        return Origin(app)

    async def start(self, origin: Origin) -> Origin:
        origin.server = TestServer(origin.app, host="127.0.0.1")
        await origin.server.start_server()
        self._servers.append(origin.server)
        return origin

    async def close(self) -> None:
        for server in self._servers:
            server.app[STALLED].set()
            await server.close()


@pytest.fixture
async def origins() -> AsyncIterator[Origins]:
    factory = Origins()
    yield factory
    await factory.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(jitter=0.0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, policy: RetryPolicy, recorder: Recorder) -> SourceClient:
    return SourceClient(session, retry=policy, sleep=recorder.sleep, read_timeout=5.0)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    yield port


@pytest.fixture
def blob_file(tmp_path: Path) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    return path
