"""The proxy's connections to upstreams for requests it relays as they are.

This is not the back-to-source client: that one follows redirects, retries and insists on a
2xx. A relayed request must reach the upstream once, exactly as the client sent it (method,
body, repeated headers), and its answer, whatever the status, must go back unchanged. One
session (one connection pool, keep-alive) serves every relayed request; aiohttp's errors are
translated into :mod:`swarmfly.source`'s here, where they enter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from swarmfly.source.errors import SourceURLError, translating_errors

#: Headers aiohttp would add on its own; a relayed request carries only the client's.
_NOT_OURS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

READ_CHUNK = 1 << 20


class UpstreamResponse:
    """An upstream's answer, its body unread: status, headers (pairs kept), and chunks."""

    def __init__(self, raw: aiohttp.ClientResponse, url: str) -> None:
        self._raw = raw
        self._url = url
        self.status = raw.status
        self.reason = raw.reason
        self.headers: CIMultiDictProxy[str] = raw.headers

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body in the chunks it arrives in; errors are the source's."""
        while True:
            with translating_errors(self._url):
                chunk = await self._raw.content.readany()
            if not chunk:
                return
            yield chunk


class UpstreamClient:
    """Sends relayed requests; it borrows ``session`` (see :meth:`open` for one it owns)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    @classmethod
    @asynccontextmanager
    async def open(
        cls, *, insecure: bool, read_timeout: float, connection_limit: int = 256
    ) -> AsyncIterator[UpstreamClient]:
        """A client with its own pool, closed on exit.

        Bodies are never decompressed (the client gets the upstream's bytes and its
        ``Content-Encoding``); proxy environment variables are ignored, since the daemon is
        usually the proxy they name.
        """
        connector = aiohttp.TCPConnector(limit=connection_limit, ssl=not insecure)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            trust_env=False,
            read_bufsize=READ_CHUNK,
            timeout=aiohttp.ClientTimeout(sock_connect=read_timeout, sock_read=read_timeout),
        )
        async with session:
            yield cls(session)

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: aiohttp.StreamReader | None = None,
    ) -> AsyncIterator[UpstreamResponse]:
        """Send one request, redirects not followed; the response is released on exit."""
        try:
            target = URL(url, encoded=True)
        except ValueError as exc:
            raise SourceURLError(f"not a URL: {url[:100]!r}") from exc
        with translating_errors(url):
            raw = await self._session.request(
                method,
                target,
                headers=list(headers),
                data=body,
                allow_redirects=False,
                auto_decompress=False,
                skip_auto_headers=_NOT_OURS,
            )
        try:
            yield UpstreamResponse(raw, url)
        finally:
            raw.release()
