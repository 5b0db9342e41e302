"""Getting a 2xx response head from a source: redirects, error statuses and retries.

:class:`Fetcher` is the only code that sends a request to a source: ``http://`` on
:class:`~swarmfly.source.plain_http.PlainHTTP`'s threads, ``https://`` with aiohttp. It
follows redirects
itself (see :mod:`swarmfly.source.redirects` for why), turns a non-2xx answer into
:class:`SourceStatusError` with a bounded body prefix, and retries what
:func:`~swarmfly.source.retry.is_retryable` allows, sleeping with the injected ``sleep``.
What it returns is a response whose body has not been read; the caller releases it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
from yarl import URL

from swarmfly.logs import redacted_url
from swarmfly.source.errors import (
    MAX_ERROR_BODY,
    RangeNotSatisfiable,
    SourceStatusError,
    SourceTimeout,
    SourceUnavailable,
    translating_errors,
)
from swarmfly.source.headers import request_headers
from swarmfly.source.plain_http import PlainHTTP
from swarmfly.source.ranges import parse_unsatisfied_total
from swarmfly.source.raw import AiohttpResponse, RawResponse
from swarmfly.source.redirects import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    headers_for_hop,
    parse_source_url,
    redirect_target,
)
from swarmfly.source.request import SourceRequest
from swarmfly.source.retry import RetryPolicy, is_retryable, retry_after_of

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Deadline:
    """The end of a request's total time budget; ``seconds=None`` means there is none."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a budget."""
        return None if self._at is None else max(0.0, self._at - self._clock())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self._at is not None and self._clock() >= self._at


async def read_error_body(response: RawResponse) -> bytes:
    """Up to :data:`MAX_ERROR_BODY` bytes of an error body; the rest is never read.

    Best effort: if the body breaks off, what arrived is enough, since the status is the news.
    """
    body = bytearray()
    try:
        while len(body) < MAX_ERROR_BODY:
            with translating_errors(str(response.url)):
                data = await response.read(MAX_ERROR_BODY - len(body))
            if not data:
                break
            body += data
    except (SourceUnavailable, SourceTimeout) as exc:
        logger.debug("error body broke off", extra={"error": type(exc).__name__})
    return bytes(body)


class Fetcher:
    """Sends requests for :class:`SourceClient` and its responses' resumes."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        plain: PlainHTTP,
        *,
        retry: RetryPolicy,
        read_timeout: float,
        sleep: Sleep,
    ) -> None:
        self._session = session
        self._plain = plain
        self._retry = retry
        self._read_timeout = read_timeout
        self._sleep = sleep

    async def fetch(self, request: SourceRequest, method: str, deadline: Deadline) -> RawResponse:
        """A 2xx response head for ``request``, retrying while the policy allows."""
        attempt = 1
        while True:
            try:
                return await self.fetch_once(request, method, deadline)
            except (SourceStatusError, SourceUnavailable, SourceTimeout) as exc:
                delay = self._retry.delay_for(attempt, retry_after_of(exc))
                if not self._may_retry(exc, attempt, delay, deadline):
                    raise
                logger.warning(
                    "source request retried",
                    extra={
                        "url": redacted_url(request.url),
                        "attempt": attempt,
                        "delay": delay,
                        "error": type(exc).__name__,
                        "status": exc.status if isinstance(exc, SourceStatusError) else None,
                    },
                )
                await self._sleep(delay)
                attempt += 1

    def _may_retry(self, exc: Exception, attempt: int, delay: float, deadline: Deadline) -> bool:
        remaining = deadline.remaining()
        return (
            is_retryable(exc)
            and self._retry.has_attempts_left(attempt)
            and (remaining is None or delay < remaining)
        )

    async def fetch_once(
        self,
        request: SourceRequest,
        method: str,
        deadline: Deadline,
        *,
        if_range: str | None = None,
    ) -> RawResponse:
        """One try: send, follow redirects, and raise for anything but 2xx."""
        original = parse_source_url(request.url)
        headers = request_headers(request.headers, request.range, if_range)
        url = original
        hops = 0
        while True:
            response = await self._send(
                method, url, headers_for_hop(headers, original, url), deadline
            )
            if response.status not in REDIRECT_STATUSES:
                return await _checked(response)
            target = redirect_target(url, response.headers.get("Location"))
            if target is None:
                raise await _status_error(response, "redirect without a usable Location")
            if hops == MAX_REDIRECTS:
                raise await _status_error(response, f"more than {MAX_REDIRECTS} redirects")
            logger.debug(
                "source redirected",
                extra={"url": redacted_url(str(url)), "location": redacted_url(str(target))},
            )
            response.release()
            url, hops = target, hops + 1

    async def _send(
        self, method: str, url: URL, headers: list[tuple[str, str]], deadline: Deadline
    ) -> RawResponse:
        if deadline.expired():
            raise SourceTimeout(f"deadline passed before requesting {redacted_url(str(url))}")
        remaining = deadline.remaining()
        if url.scheme == "http":
            # Sockets have no total budget: the caller's own timeout (or the deadline checked
            # between hops and resumes) bounds the whole; each read is bounded here.
            wait = self._read_timeout if remaining is None else min(remaining, self._read_timeout)
            with translating_errors(str(url)):
                return await self._plain.send(
                    method, url, headers, connect_timeout=wait, read_timeout=self._read_timeout
                )
        timeout = aiohttp.ClientTimeout(
            total=remaining,
            sock_connect=self._read_timeout,
            sock_read=self._read_timeout,
        )
        with translating_errors(str(url)):
            response = await self._session.request(
                method,
                url,
                headers=headers,
                allow_redirects=False,
                auto_decompress=False,
                timeout=timeout,
            )
        return AiohttpResponse(response)


async def _checked(response: RawResponse) -> RawResponse:
    """``response`` if it is 2xx; otherwise it is released and the matching error raised."""
    if 200 <= response.status < 300:
        return response
    if response.status == 416:
        response.release()
        raise RangeNotSatisfiable(
            f"source refused the range for {redacted_url(str(response.url))}",
            total_length=parse_unsatisfied_total(response.headers.get("Content-Range")),
            headers=response.headers,
        )
    raise await _status_error(response, "source answered an error status")


async def _status_error(response: RawResponse, reason: str) -> SourceStatusError:
    """The error for ``response``, with its body prefix read; the response is released."""
    try:
        body = await read_error_body(response)
    finally:
        response.release()
    return SourceStatusError(
        f"{reason}: {response.status} from {redacted_url(str(response.url))}",
        status=response.status,
        headers=response.headers,
        body=body,
    )
