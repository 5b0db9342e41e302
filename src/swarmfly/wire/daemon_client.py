"""A typed client for the daemon's control API, as ``dfget`` uses it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from swarmfly import errors
from swarmfly.wire import headers
from swarmfly.wire.daemon import DownloadProgress, DownloadTaskRequest, TaskInfo
from swarmfly.wire.errors import error_from_response

_ERROR_BODY_LIMIT = 64 * 1024
_CHUNK = 1 << 20


@dataclass
class DaemonDownload:
    """The daemon's answer to a download: the task's identity and its bytes as they come."""

    task_id: str
    content_length: int | None
    from_store: bool
    _response: aiohttp.ClientResponse

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise errors.Unavailable(f"the daemon cut the transfer: {exc}") from exc


class DaemonClient:
    """Talks to one daemon's control port."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")

    async def healthy(self, wait: float = 2.0) -> bool:
        """Whether the daemon answers its health check within ``wait`` seconds."""
        try:
            async with self._session.get(
                f"{self.base_url}/healthy", timeout=aiohttp.ClientTimeout(total=wait)
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    @asynccontextmanager
    async def _post_download(
        self, request: DownloadTaskRequest
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The daemon's answer to a download request, once it said 200 (else its error)."""
        try:
            async with self._session.post(
                f"{self.base_url}/api/v1/tasks/download",
                data=request.model_dump_json(),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=None, sock_read=600),
            ) as response:
                if response.status != 200:
                    body = await response.content.read(_ERROR_BODY_LIMIT)
                    raise error_from_response(response.status, body, who="the daemon")
                yield response
        except aiohttp.ClientConnectionError as exc:
            raise errors.Unavailable(f"cannot reach the daemon at {self.base_url}: {exc}") from exc

    @asynccontextmanager
    async def download(self, request: DownloadTaskRequest) -> AsyncIterator[DaemonDownload]:
        """Stream the task's bytes back from the daemon as its pieces land."""
        async with self._post_download(request) as response:
            yield DaemonDownload(
                task_id=response.headers.get(headers.TASK_ID, ""),
                content_length=response.content_length,
                from_store=response.headers.get(headers.TASK_DOWNLOAD_FINISHED) == "true",
                _response=response,
            )

    async def download_to(self, request: DownloadTaskRequest) -> AsyncIterator[DownloadProgress]:
        """Have the daemon write the task into ``request.output_path``; yields its progress.

        The last event has ``done`` set; a failure after the start is raised as the error its
        status stands for.
        """
        async with self._post_download(request) as response:
            try:
                async for line in response.content:
                    event = DownloadProgress.model_validate_json(line)
                    if event.error is not None:
                        body = json.dumps({"message": event.error}).encode()
                        raise error_from_response(event.status or 500, body, who="the daemon")
                    yield event
                    if event.done:
                        return
            except (aiohttp.ClientError, ConnectionError) as exc:
                raise errors.Unavailable(f"the daemon cut the transfer: {exc}") from exc
        raise errors.Unavailable("the daemon ended the transfer without finishing it")

    async def stat(self, task_id: str) -> TaskInfo:
        try:
            async with self._session.get(f"{self.base_url}/api/v1/tasks/{task_id}") as response:
                body = await response.read()
        except aiohttp.ClientError as exc:
            raise errors.Unavailable(f"cannot reach the daemon at {self.base_url}: {exc}") from exc
        if response.status != 200:
            raise error_from_response(response.status, body, who="the daemon")
        return TaskInfo.model_validate_json(body)
