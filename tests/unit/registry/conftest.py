"""A scriptable registry on loopback for the client's unit tests, and a fake clock.

Each test routes the paths it needs to handlers (manifests, a token realm) before the server
starts; every request is recorded with its ``Authorization``. Handlers that stall wait on an
event set at teardown, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from swarmfly.registry import OCI_INDEX, OCI_MANIFEST, RegistryClient

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def fake_digest(n: int) -> str:
    return f"sha256:{n:064x}"


def manifest_bytes(config: str, layers: list[str]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CONFIG_TYPE, "digest": config, "size": 10},
            "layers": [{"mediaType": LAYER_TYPE, "digest": d, "size": 100} for d in layers],
        }
    ).encode()


def index_bytes(entries: list[tuple[str, dict[str, str] | None, str]]) -> bytes:
    """An OCI index of (digest, platform, media type) entries."""
    manifests = []
    for digest, platform, media_type in entries:
        entry: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": 1}
        if platform is not None:
            entry["platform"] = platform
        manifests.append(entry)
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


def serve_bytes(
    data: bytes,
    content_type: str = OCI_MANIFEST,
    *,
    announced: str | None = "auto",
    chunked: bool = False,
) -> Handler:
    """A handler answering ``data``, announcing ``announced`` as its digest ("auto": its own)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type})
        if announced is not None:
            digest = digest_of(data) if announced == "auto" else announced
            response.headers["Docker-Content-Digest"] = digest
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(data)
        await response.prepare(request)
        if request.method != "HEAD":
            await response.write(data)
        await response.write_eof()
        return response

    return handler


def serve_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = {"errors": [{"code": code, "message": message}]}
        return web.json_response(body, status=status, headers=headers)

    return handler


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None
    headers: dict[str, str]


@dataclass
class FakeRegistry:
    app: web.Application = field(default_factory=web.Application)
    requests: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def route(self, path: str, handler: Handler) -> None:
        async def recorded(request: web.Request) -> web.StreamResponse:
            self.requests.append(
                Seen(
                    request.method,
                    request.path_qs,
                    request.headers.get("Authorization"),
                    dict(request.headers),
                )
            )
            return await handler(request)

        self.app.router.add_route("*", path, recorded)

    async def stall(self, request: web.Request) -> web.StreamResponse:
        await self.release.wait()
        return web.Response()

    def paths(self, prefix: str = "/v2/") -> list[str]:
        return [seen.path for seen in self.requests if seen.path.startswith(prefix)]


StartRegistry = Callable[[FakeRegistry], Awaitable[FakeRegistry]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    """A registry to route; ``await started(fake)`` once the routes are in."""
    registry = FakeRegistry()
    yield registry
    registry.release.set()
    if registry.server is not None:
        await registry.server.close()


@pytest.fixture
def started() -> StartRegistry:
    async def start(registry: FakeRegistry) -> FakeRegistry:
        registry.server = TestServer(registry.app, host="127.0.0.1")
        await registry.server.start_server()
        return registry

    return start


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[RegistryClient]:
    async with RegistryClient.open(clock=clock, request_timeout=5.0) as opened:
        yield opened
