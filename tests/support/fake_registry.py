"""A registry that lies on purpose: serves images from an OCI layout, with per-blob faults.

It speaks enough of the distribution API for containerd and a mirror (``/v2/``, manifests by
tag or digest, blobs with ``Range``), and a switch per blob digest makes it cut the body
short (the connection drops at an offset, under a full ``Content-Length``) or send the right
length with one byte flipped, so the digest cannot match. The cut is at an offset of the
blob, so a client that resumes with ``Range`` meets it again while the fault lasts. Every
request is recorded. It runs inside the test's event loop, on a loopback port.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from swarmfly.web.runner import serve_app
from tests.support.images import MEDIA_LAYER, Blob, Image, ImageIndex, OciLayout

CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class BlobFault:
    """What goes wrong when a blob is served; ``times`` responses get it (None: all)."""

    truncate_at: int | None = None  # blob offset where the body stops and the connection drops
    corrupt: bool = False  # flip the byte in the middle of the blob
    times: int | None = None

    def applies(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    range: str | None
    status: int
    sent: int  # body bytes written before the response ended (or was cut)

    @property
    def digest(self) -> str | None:
        last = self.path.rsplit("/", 1)[-1]
        return last if ":" in last else None


@dataclass
class FakeRegistry:
    layout: OciLayout
    port: int = 0
    faults: dict[str, BlobFault] = field(default_factory=dict)  # digest -> fault
    requests: list[FakeRequest] = field(default_factory=list)
    _blobs: dict[str, Blob] = field(default_factory=dict)  # digest -> blob (any repository)
    _tags: dict[tuple[str, str], Blob] = field(default_factory=dict)  # (repo, tag) -> manifest

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reference(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def publish(self, repository: str, tag: str, image: Image | ImageIndex) -> None:
        """Serve ``image`` (its manifest, or index, under ``tag``) from the layout."""
        if isinstance(image, ImageIndex):
            self._tags[(repository, tag)] = image.index
            self._blobs[image.index.digest] = image.index
            for member in image.images.values():
                self._add(member)
        else:
            self._tags[(repository, tag)] = image.manifest
            self._add(image)

    def blob_gets(self, digest: str | None = None) -> list[FakeRequest]:
        return [
            r
            for r in self.requests
            if r.method == "GET" and "/blobs/" in r.path and digest in (None, r.digest)
        ]

    def _add(self, image: Image) -> None:
        for blob in (image.manifest, *image.blobs):
            self._blobs[blob.digest] = blob

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return self._record(request, web.json_response({}), 2)

    async def _manifest(self, request: web.Request) -> web.StreamResponse:
        repository, reference = request.match_info["name"], request.match_info["reference"]
        blob = self._tags.get((repository, reference)) or self._blobs.get(reference)
        if blob is None or blob.media_type == MEDIA_LAYER:
            return self._record(request, web.json_response({"errors": []}, status=404), 0)
        body = self.layout.blob_path(blob.digest).read_bytes()
        headers = {"Content-Type": blob.media_type, "Docker-Content-Digest": blob.digest}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return self._record(request, web.Response(headers=headers), 0)
        return self._record(request, web.Response(body=body, headers=headers), len(body))

    async def _blob(self, request: web.Request) -> web.StreamResponse:
        digest = request.match_info["digest"]
        blob = self._blobs.get(digest)
        if blob is None:
            return self._record(request, web.json_response({"errors": []}, status=404), 0)
        start, end = 0, blob.size - 1
        header = request.headers.get("Range")
        match = _RANGE.match(header) if header else None
        if match:
            start = int(match[1])
            end = min(int(match[2]) if match[2] else blob.size - 1, blob.size - 1)
        response = web.StreamResponse(status=206 if match else 200)
        response.content_length = end - start + 1
        response.headers["Docker-Content-Digest"] = digest
        response.headers["Accept-Ranges"] = "bytes"
        response.content_type = "application/octet-stream"
        if match:
            response.headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        await response.prepare(request)
        if request.method == "HEAD":
            return self._record(request, response, 0)
        fault = self.faults.get(digest)
        active = fault if fault is not None and fault.applies() else None
        sent = await self._send(request, response, blob, start, end, active)
        return self._record(request, response, sent)

    async def _send(
        self,
        request: web.Request,
        response: web.StreamResponse,
        blob: Blob,
        start: int,
        end: int,
        fault: BlobFault | None,
    ) -> int:
        limit = end - start + 1
        if fault is not None and fault.truncate_at is not None:
            limit = max(0, min(limit, fault.truncate_at - start))
        flip = blob.size // 2 if fault is not None and fault.corrupt else -1
        sent = 0
        with open(self.layout.blob_path(blob.digest), "rb") as file:
            file.seek(start)
            while sent < limit:
                chunk = bytearray(file.read(min(CHUNK, limit - sent)))
                if start + sent <= flip < start + sent + len(chunk):
                    chunk[flip - start - sent] ^= 0xFF
                await response.write(bytes(chunk))
                sent += len(chunk)
        if sent < end - start + 1 and request.transport is not None:
            request.transport.abort()  # the client sees a body shorter than Content-Length
        return sent

    def _record(
        self, request: web.Request, response: web.StreamResponse, sent: int
    ) -> web.StreamResponse:
        self.requests.append(
            FakeRequest(
                request.method, request.path, request.headers.get("Range"), response.status, sent
            )
        )
        return response


@asynccontextmanager
async def running_fake_registry(layout: OciLayout) -> AsyncIterator[FakeRegistry]:
    registry = FakeRegistry(layout)
    app = web.Application()
    app.router.add_get("/v2/", registry._version)
    app.router.add_route("*", r"/v2/{name:.+}/manifests/{reference}", registry._manifest)
    app.router.add_route("*", r"/v2/{name:.+}/blobs/{digest}", registry._blob)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=1.0) as port:
        registry.port = port
        yield registry
