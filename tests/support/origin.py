"""A real HTTP origin on loopback, with switches for the faults a source can have."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from swarmfly.web.runner import serve_app


@dataclass
class Origin:
    """Serves files from ``root`` with Range support and counts what it sent."""

    root: Path
    port: int = 0
    bytes_sent: int = 0
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, Range
    corrupt: set[str] = field(default_factory=set)  # names served with one byte flipped
    fail_status: dict[str, int] = field(default_factory=dict)  # name -> status to answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_file(self, name: str, size: int) -> tuple[Path, str]:
        """A file of random bytes; returns its path and sha256 hex."""
        path = self.root / name
        hasher = hashlib.sha256()
        with open(path, "wb") as out:
            left = size
            while left:
                chunk = os.urandom(min(left, 1 << 20))
                hasher.update(chunk)
                out.write(chunk)
                left -= len(chunk)
        return path, hasher.hexdigest()

    def gets(self, name: str) -> int:
        return sum(1 for method, path, _ in self.requests if method == "GET" and path == f"/{name}")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((request.method, request.path, request.headers.get("Range")))
        if name in self.fail_status:
            raise _status(self.fail_status[name], name)
        path = self.root / name
        if not path.is_file():
            raise web.HTTPNotFound(text=f"no such file: {name}")
        if name in self.corrupt:
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            return web.Response(body=bytes(data))
        return web.FileResponse(path)

    async def count(self, request: web.Request, response: web.StreamResponse) -> None:
        """Counts body bytes as each response starts (FileResponse sets its length then)."""
        length = response.headers.get("Content-Length")
        if request.method == "GET" and response.status < 300 and length:
            self.bytes_sent += int(length)


def _status(status: int, name: str) -> web.HTTPException:
    error = web.HTTPException(text=f"origin refuses {name}")
    error.set_status(status)
    return error


@asynccontextmanager
async def running_origin(root: Path) -> AsyncIterator[Origin]:
    root.mkdir(parents=True, exist_ok=True)
    origin = Origin(root)
    app = web.Application()
    app.on_response_prepare.append(origin.count)
    app.router.add_route("*", "/{name}", origin.handle)
    async with serve_app(app, "127.0.0.1", 0) as port:
        origin.port = port
        yield origin
