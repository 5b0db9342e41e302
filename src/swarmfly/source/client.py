"""The back-to-source HTTP client: what the daemon and ``dfget`` use to fetch from an origin.

::

    async with SourceClient.open(rate_limiter=limiter) as client:
        async with client.get(SourceRequest(url, headers=incoming, range=ByteRange(0))) as resp:
            async for chunk in resp.iter_chunks():
                ...

The layers, top down: :class:`SourceClient` (this module) opens a response and guarantees it
is released; :class:`~swarmfly.source.response.SourceResponse` streams and resumes the body;
:class:`~swarmfly.source.fetch.Fetcher` sends, follows redirects and retries. Every error that
leaves is one of :mod:`swarmfly.source.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from swarmfly.ratelimit import RateLimiter
from swarmfly.source.fetch import Deadline, Fetcher, Sleep
from swarmfly.source.plain_http import PlainHTTP
from swarmfly.source.request import SourceRequest
from swarmfly.source.response import ResumeContext, SourceMetadata, SourceResponse
from swarmfly.source.retry import RetryPolicy
from swarmfly.source.window import body_window

DEFAULT_RETRY = RetryPolicy()


#: aiohttp's per-response read buffer; memory per download stays within 2x this.
READ_BUFFER_SIZE = 1 << 20


class SourceClient:
    """Fetches objects from HTTP(S) sources with retries, resumes and a shared rate limit.

    It borrows ``session`` for ``https://`` (see :meth:`open` for one it owns) and sends
    ``http://`` on threads of its own, let go by :meth:`close`. ``read_timeout`` bounds each
    connect and each read, so a stalled source is noticed even without a total timeout;
    ``sleep`` is what waits between retries, so tests can pass a fake one.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        rate_limiter: RateLimiter | None = None,
        read_timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        connection_limit: int = 100,
    ) -> None:
        self._retry = retry
        self._rate_limiter = rate_limiter
        self._sleep = sleep
        self._plain = PlainHTTP(max_connections=connection_limit)
        self._fetcher = Fetcher(
            session, self._plain, retry=retry, read_timeout=read_timeout, sleep=sleep
        )

    def close(self) -> None:
        """Close kept-alive ``http://`` connections and let their threads go."""
        self._plain.close()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        *,
        insecure: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        rate_limiter: RateLimiter | None = None,
        read_timeout: float = 30.0,
        connection_limit: int = 100,
    ) -> AsyncIterator[SourceClient]:
        """A client with its own session, closed on exit.

        TLS certificates are verified unless ``insecure``. Bodies are never decompressed, so
        the bytes are exactly the source's. Proxy environment variables are ignored: the
        daemon is itself the proxy they usually point at.
        """
        connector = aiohttp.TCPConnector(limit=connection_limit, ssl=not insecure)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            trust_env=False,
            # Keep reading the socket while a chunk is being written to disk: aiohttp pauses
            # the transport at twice this much buffered (64 KiB by default stalls the pipe).
            read_bufsize=READ_BUFFER_SIZE,
            timeout=aiohttp.ClientTimeout(sock_connect=read_timeout, sock_read=read_timeout),
        )
        async with session:
            client = cls(
                session,
                retry=retry,
                rate_limiter=rate_limiter,
                read_timeout=read_timeout,
                connection_limit=connection_limit,
            )
            try:
                yield client
            finally:
                client.close()

    @asynccontextmanager
    async def get(self, request: SourceRequest) -> AsyncIterator[SourceResponse]:
        """GET ``request``; the response is open (body unread) inside, released on exit.

        Connection errors, timeouts, 5xx and 429 are retried before the body starts (with
        ``Retry-After`` honoured); after that :meth:`SourceResponse.iter_chunks` resumes.
        Raises :class:`SourceStatusError` for any other status, :class:`RangeNotSatisfiable`
        for a 416 (or a range past the end of a 200), :class:`SourceUnavailable`,
        :class:`SourceTimeout` or :class:`SourceURLError`.
        """
        deadline = Deadline(request.timeout)
        raw = await self._fetcher.fetch(request, "GET", deadline)
        response: SourceResponse | None = None
        try:
            window = body_window(raw.status, raw.headers, request.range)
            context = ResumeContext(
                self._fetcher, request, deadline, self._retry, self._sleep, self._rate_limiter
            )
            response = SourceResponse(raw, window, context)
            yield response
        finally:
            if response is None:
                raw.release()
            else:
                response.close()

    async def head(self, request: SourceRequest) -> SourceMetadata:
        """HEAD ``request``: the object's metadata, with the same redirects, retries and errors.

        Signed object-storage URLs are often signed for GET only; where HEAD is refused, a GET
        with ``range=ByteRange(0, 0)`` gives the same metadata.
        """
        deadline = Deadline(request.timeout)
        raw = await self._fetcher.fetch(request, "HEAD", deadline)
        try:
            window = body_window(raw.status, raw.headers, request.range)
        finally:
            raw.release()
        return SourceMetadata(
            status=window.status,
            headers=raw.headers,
            url=str(raw.url),
            content_length=window.content_length,
            total_length=window.total_length,
            start=window.start,
            accepts_ranges=window.accepts_ranges,
        )
