"""What can go wrong fetching from a source, and where the HTTP clients' exceptions become ours.

Nothing above ``swarmfly.source`` ever sees an aiohttp, ``http.client`` or asyncio exception:
every call into either client runs inside :func:`translating_errors`, which picks the most
specific of these and re-raises it ``from`` the original, as httpx's
``map_httpcore_exceptions`` does.

    SwarmflyError
    ├── InvalidInput
    │   ├── SourceURLError         the URL cannot be requested (no host, not http/https)
    │   └── RangeNotSatisfiable    the range lies outside the object (the source's 416)
    ├── UpstreamError
    │   └── SourceStatusError      the source answered a non-2xx status
    ├── Unavailable
    │   └── SourceUnavailable      refused, reset, DNS, TLS, or a body that cannot be resumed
    └── Timeout
        └── SourceTimeout          connect, read or total deadline passed
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import aiohttp

from swarmfly.errors import InvalidInput, Timeout, Unavailable, UpstreamError
from swarmfly.logs import redacted_url

#: The most of an error body we keep: enough for a registry's JSON errors, never a whole blob.
MAX_ERROR_BODY = 64 * 1024


class SourceStatusError(UpstreamError):
    """The source answered with a status that is not 2xx (after retries, where they apply).

    ``status``, ``headers`` and ``body`` (at most :data:`MAX_ERROR_BODY` bytes) are kept so the
    proxy can pass the answer through unchanged.
    """


class SourceUnavailable(Unavailable):
    """The source could not be reached, or dropped a body we could not safely resume."""


class SourceTimeout(Timeout):
    """Connecting, reading or the whole request took longer than allowed."""


class SourceURLError(InvalidInput):
    """The URL is not one we can fetch; retrying will not change that."""


class RangeNotSatisfiable(InvalidInput):
    """The range starts at or beyond the end of the object.

    ``total_length`` is the object's length when it is known, so a server can answer
    ``Content-Range: bytes */total``; ``headers`` are the source's, when it was the source
    that refused.
    """

    def __init__(
        self,
        message: str,
        *,
        total_length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.total_length = total_length
        self.headers: dict[str, str] = dict(headers or {})


@contextmanager
def translating_errors(url: str) -> Iterator[None]:
    """Re-raise aiohttp's and asyncio's exceptions as ours, keeping the original as the cause.

    Timeouts are checked first: aiohttp's ``ServerTimeoutError`` is also a connection error,
    and the caller wants to know it was the clock. The URL in messages is redacted.
    """
    # The URL is redacted only when an error needs it: this wraps every read of a body.
    try:
        yield
    except TimeoutError as exc:
        raise SourceTimeout(f"timed out fetching {redacted_url(url)}") from exc
    except aiohttp.InvalidURL as exc:
        raise SourceURLError(f"cannot fetch {redacted_url(url)}: invalid URL") from exc
    except aiohttp.ClientConnectorError as exc:
        raise SourceUnavailable(f"cannot connect to {redacted_url(url)}: {exc.os_error}") from exc
    except aiohttp.ClientPayloadError as exc:
        raise SourceUnavailable(f"body from {redacted_url(url)} broke off") from exc
    except aiohttp.ClientError as exc:
        raise SourceUnavailable(
            f"connection to {redacted_url(url)} failed: {type(exc).__name__}"
        ) from exc
    except http.client.IncompleteRead as exc:
        raise SourceUnavailable(f"body from {redacted_url(url)} broke off") from exc
    except ConnectionRefusedError as exc:
        raise SourceUnavailable(f"cannot connect to {redacted_url(url)}: {exc}") from exc
    except http.client.HTTPException as exc:
        raise SourceUnavailable(
            f"connection to {redacted_url(url)} failed: {type(exc).__name__}"
        ) from exc
    except OSError as exc:
        raise SourceUnavailable(
            f"connection to {redacted_url(url)} failed: {exc.strerror}"
        ) from exc
