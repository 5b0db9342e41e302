"""A typed client for the daemon's control API, as ``dfget`` uses it.

``dfget`` is a command people run thousands of times in scripts, and its start-up is part of
every download's time: this client talks to the local daemon with the standard library's
``http.client`` on a worker thread, so ``dfget`` never imports aiohttp (about a third of
its start-up). The daemon is on loopback and answers one request at a time here, which is
all ``http.client`` has to do.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from swarmfly import errors
from swarmfly.wire import headers
from swarmfly.wire.daemon import DownloadProgress, DownloadTaskRequest, TaskInfo
from swarmfly.wire.errors import error_from_response

_ERROR_BODY_LIMIT = 64 * 1024
_CHUNK = 1 << 20

#: How long the daemon may stay silent during a download before dfget gives up on it (it
#: sends a progress line at least every few seconds while it works).
READ_TIMEOUT = 600.0

#: What a connection to the daemon fails with, whatever the step.
_CONNECTION_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class DaemonDownload:
    """The daemon's answer to a download: the task's identity and its bytes as they come."""

    task_id: str
    content_length: int | None
    from_store: bool
    _response: http.client.HTTPResponse

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await asyncio.to_thread(self._response.read1, _CHUNK)
            except _CONNECTION_ERRORS as exc:
                raise errors.Unavailable(f"the daemon cut the transfer: {exc}") from exc
            if not chunk:
                return
            yield chunk


class DaemonClient:
    """Talks to one daemon's control port (``http://host:port``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise errors.InvalidInput(
                f"the daemon address must be http://host:port, not {base_url!r}"
            )
        self._host = parts.hostname
        self._port = parts.port or 80

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    async def healthy(self, wait: float = 2.0) -> bool:
        """Whether the daemon answers its health check within ``wait`` seconds."""

        def check() -> bool:
            connection = self._connection(wait)
            try:
                connection.request("GET", "/healthy")
                return connection.getresponse().status == 200
            finally:
                connection.close()

        try:
            return await asyncio.to_thread(check)
        except _CONNECTION_ERRORS:
            return False

    @asynccontextmanager
    async def _post_download(
        self, request: DownloadTaskRequest
    ) -> AsyncIterator[http.client.HTTPResponse]:
        """The daemon's answer to a download request, once it said 200 (else its error)."""
        connection = self._connection(READ_TIMEOUT)

        def post() -> tuple[http.client.HTTPResponse, bytes]:
            connection.request(
                "POST",
                "/api/v1/tasks/download",
                body=request.model_dump_json().encode(),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            body = b"" if response.status == 200 else response.read(_ERROR_BODY_LIMIT)
            return response, body

        try:
            try:
                response, body = await asyncio.to_thread(post)
            except _CONNECTION_ERRORS as exc:
                raise errors.Unavailable(
                    f"cannot reach the daemon at {self.base_url}: {exc}"
                ) from exc
            if response.status != 200:
                raise error_from_response(response.status, body, who="the daemon")
            yield response
        finally:
            _close(connection)

    @asynccontextmanager
    async def download(self, request: DownloadTaskRequest) -> AsyncIterator[DaemonDownload]:
        """Stream the task's bytes back from the daemon as its pieces land."""
        async with self._post_download(request) as response:
            length = response.getheader("Content-Length")
            yield DaemonDownload(
                task_id=response.getheader(headers.TASK_ID, ""),
                content_length=int(length) if length and length.isdigit() else None,
                from_store=response.getheader(headers.TASK_DOWNLOAD_FINISHED) == "true",
                _response=response,
            )

    async def download_to(self, request: DownloadTaskRequest) -> AsyncIterator[DownloadProgress]:
        """Have the daemon write the task into ``request.output_path``; yields its progress.

        The last event has ``done`` set; a failure after the start is raised as the error its
        status stands for.
        """
        async with self._post_download(request) as response:
            while True:
                try:
                    line = await asyncio.to_thread(response.readline)
                except _CONNECTION_ERRORS as exc:
                    raise errors.Unavailable(f"the daemon cut the transfer: {exc}") from exc
                if not line:
                    break
                event = DownloadProgress.model_validate_json(line)
                if event.error is not None:
                    body = json.dumps({"message": event.error}).encode()
                    raise error_from_response(event.status or 500, body, who="the daemon")
                yield event
                if event.done:
                    return
        raise errors.Unavailable("the daemon ended the transfer without finishing it")

    async def stat(self, task_id: str) -> TaskInfo:
        def get() -> tuple[int, bytes]:
            connection = self._connection(30.0)
            try:
                connection.request("GET", f"/api/v1/tasks/{task_id}")
                response = connection.getresponse()
                return response.status, response.read()
            finally:
                connection.close()

        try:
            status, body = await asyncio.to_thread(get)
        except _CONNECTION_ERRORS as exc:
            raise errors.Unavailable(f"cannot reach the daemon at {self.base_url}: {exc}") from exc
        if status != 200:
            raise error_from_response(status, body, who="the daemon")
        return TaskInfo.model_validate_json(body)


def _close(connection: http.client.HTTPConnection) -> None:
    """Close, waking first a thread still blocked reading (a cancelled or timed-out call).

    The same two steps as ``swarmfly.source.plain_http``'s, kept here because importing that
    package would load aiohttp into every dfget.
    """
    if connection.sock is not None:
        with suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
    connection.close()
