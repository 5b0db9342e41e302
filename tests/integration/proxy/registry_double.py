"""A registry on loopback that behaves like distribution where the proxy cares, with switches.

Blobs live per repository (a blob is served only through a repository it is linked to, as in
distribution), private repositories answer 401 with ``WWW-Authenticate`` unless a known
``Authorization`` comes, blob GETs can redirect (307) to signed URLs on another host name
(``localhost`` instead of ``127.0.0.1``), be corrupted, fail with a status, or stop after a
number of bytes until the test opens a gate. Every request is recorded with its headers as
the pairs that arrived, so a test can see repeated headers and what reached the upstream.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from swarmfly.web.runner import serve_app

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SIGNATURE = "c2lnbmVk"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass(frozen=True)
class Blob:
    digest: str  # sha256:<hex>
    path: Path
    size: int

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")

    def data(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class Gate:
    after: int  # bytes sent before the answer stops
    open: asyncio.Event = field(default_factory=asyncio.Event)
    reached: asyncio.Event = field(default_factory=asyncio.Event)  # the stop was reached


@dataclass
class RegistryDouble:
    root: Path
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    links: dict[str, set[str]] = field(default_factory=dict)  # repository -> digests
    private: set[str] = field(default_factory=set)  # repositories that need credentials
    accepted: set[str] = field(default_factory=set)  # Authorization values that pass
    redirect: bool = False  # blob GETs answer 307 to a signed URL on "localhost"
    corrupt: set[str] = field(default_factory=set)  # digests served with one byte flipped
    fail: dict[str, int] = field(default_factory=dict)  # digest -> status to answer GETs with
    gates: dict[str, Gate] = field(default_factory=dict)
    cut: dict[str, int] = field(default_factory=dict)  # digest -> bytes sent, then the link dies
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def add_blob(self, repository: str, size: int) -> Blob:
        data = os.urandom(size)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.root / digest.removeprefix("sha256:")
        path.write_bytes(data)
        self.link(repository, digest)
        return Blob(digest, path, size)

    def link(self, repository: str, digest: str) -> None:
        self.links.setdefault(repository, set()).add(digest)

    def gate(self, blob: Blob, after: int) -> Gate:
        gate = self.gates[blob.digest] = Gate(after)
        return gate

    def add_manifest(self, repository: str, tag: str, media_type: str, body: bytes) -> None:
        self.manifests[(repository, tag)] = (media_type, body)

    def seen(self, method: str, part: str) -> list[Recorded]:
        """Requests with ``method`` whose path contains ``part``."""
        return [r for r in self.requests if r.method == method and part in r.path]

    def blob_gets(self, blob: Blob) -> int:
        return len(self.seen("GET", f"/blobs/{blob.digest}"))

    # --- handlers ---------------------------------------------------------------------

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            Recorded(
                request.method, request.path, request.query_string, list(request.headers.items())
            )
        )

    def _authorize(self, request: web.Request, repository: str) -> None:
        if repository not in self.private:
            return
        if request.headers.get("Authorization") in self.accepted:
            return
        raise web.HTTPUnauthorized(
            headers={
                "WWW-Authenticate": 'Basic realm="double"',
                "Docker-Distribution-Api-Version": "registry/2.0",
                "Content-Type": "application/json",
            },
            text='{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
        )

    async def base(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if self.private and request.headers.get("Authorization") not in self.accepted:
            self._authorize(request, next(iter(self.private)))
        return web.json_response({}, headers={"Docker-Distribution-Api-Version": "registry/2.0"})

    async def blob(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        repository, digest = request.match_info["repo"], request.match_info["digest"]
        self._authorize(request, repository)
        if digest not in self.links.get(repository, set()):
            raise web.HTTPNotFound(text='{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        if request.method == "GET" and digest in self.fail:
            raise _status(self.fail[digest])
        path = self.root / digest.removeprefix("sha256:")
        headers = {"Docker-Content-Digest": digest}
        if self.redirect and request.method == "GET":
            raise web.HTTPTemporaryRedirect(self._signed_url(digest))
        if request.method == "GET" and digest in self.corrupt:
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            return web.Response(body=bytes(data), headers=headers)
        if request.method == "GET" and digest in self.cut:
            return await self._cut(request, path, self.cut[digest], headers)
        if request.method == "GET" and digest in self.gates:
            return await self._gated(request, path, self.gates[digest], headers)
        return web.FileResponse(path, headers=headers)

    def _signed_url(self, digest: str) -> str:
        query = f"X-Amz-Expires=300&X-Amz-Signature={SIGNATURE}&X-Amz-Credential=a%2Fb"
        return f"http://localhost:{self.port}/storage/{digest}?{query}"

    async def storage(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if request.query.get("X-Amz-Signature") != SIGNATURE:
            raise web.HTTPForbidden(text="SignatureDoesNotMatch")
        path = self.root / request.match_info["digest"].removeprefix("sha256:")
        return web.FileResponse(path)

    async def _gated(
        self, request: web.Request, path: Path, gate: Gate, headers: dict[str, str]
    ) -> web.StreamResponse:
        data = path.read_bytes()
        response = web.StreamResponse(headers=headers)
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[: gate.after])
        gate.reached.set()
        await gate.open.wait()
        await response.write(data[gate.after :])
        await response.write_eof()
        return response

    async def _cut(
        self, request: web.Request, path: Path, after: int, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Send ``after`` bytes and drop the connection; while cut, a resume finds nothing."""
        if "Range" in request.headers:
            raise web.HTTPNotFound(text='{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        data = path.read_bytes()
        response = web.StreamResponse(headers=headers)
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[:after])
        assert request.transport is not None
        request.transport.abort()
        return response

    async def manifest(self, request: web.Request) -> web.StreamResponse:
        """The manifest, only if some ``Accept`` line names its media type (distribution's rule)."""
        self._record(request)
        repository, reference = request.match_info["repo"], request.match_info["reference"]
        self._authorize(request, repository)
        found = self.manifests.get((repository, reference))
        if found is None:
            raise web.HTTPNotFound(text='{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        media_type, body = found
        accepted = {
            part.split(";")[0].strip()
            for line in request.headers.getall("Accept", [])
            for part in line.split(",")
        }
        if media_type not in accepted:
            raise web.HTTPNotFound(text="OCI manifest found, but accept header does not support it")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        headers = {"Content-Type": media_type, "Docker-Content-Digest": digest}
        if request.method == "HEAD":
            return web.Response(headers={**headers, "Content-Length": str(len(body))})
        return web.Response(body=body, headers=headers)

    async def start_upload(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        location = f"/v2/{request.match_info['repo']}/blobs/uploads/{uuid.uuid4()}"
        return web.Response(status=202, headers={"Location": location})

    async def finish_upload(self, request: web.Request) -> web.StreamResponse:
        """A monolithic PUT: the body streams to a file and must match ``?digest=``."""
        self._record(request)
        hasher = hashlib.sha256()
        target = self.root / f"upload-{uuid.uuid4()}"
        with open(target, "wb") as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
        digest = "sha256:" + hasher.hexdigest()
        if digest != request.query.get("digest"):
            raise web.HTTPBadRequest(text='{"errors":[{"code":"DIGEST_INVALID"}]}')
        target.rename(self.root / digest.removeprefix("sha256:"))
        self.link(request.match_info["repo"], digest)
        return web.Response(status=201, headers={"Docker-Content-Digest": digest})


def _status(status: int) -> web.HTTPException:
    error = web.HTTPException(text=f'{{"errors":[{{"code":"INJECTED","status":{status}}}]}}')
    error.set_status(status)
    return error


@asynccontextmanager
async def running_registry(root: Path) -> AsyncIterator[RegistryDouble]:
    root.mkdir(parents=True, exist_ok=True)
    registry = RegistryDouble(root)
    # Registries take long tokens (distribution allows far more than aiohttp's 8 KiB default).
    app = web.Application(handler_args={"max_field_size": 64 * 1024})
    app.router.add_route("GET", "/v2/", registry.base)
    app.router.add_route("HEAD", "/v2/", registry.base)
    for method in ("GET", "HEAD"):
        app.router.add_route(method, "/v2/{repo:.+}/blobs/{digest:sha256:[0-9a-f]+}", registry.blob)
        app.router.add_route(method, "/v2/{repo:.+}/manifests/{reference}", registry.manifest)
    app.router.add_route("POST", "/v2/{repo:.+}/blobs/uploads/", registry.start_upload)
    app.router.add_route("PUT", "/v2/{repo:.+}/blobs/uploads/{id}", registry.finish_upload)
    app.router.add_route("GET", "/storage/{digest}", registry.storage)
    async with serve_app(app, "127.0.0.1", 0) as port:
        registry.port = port
        yield registry
