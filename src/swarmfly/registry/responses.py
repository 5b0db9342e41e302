"""Where aiohttp meets the registry client: errors translated, bodies read with a cap.

Nothing above this module sees an aiohttp or asyncio exception. Bodies read here are
manifests, token answers and error documents, all small; each is read up to a limit and
refused beyond it, so a registry (or anything pretending to be one) cannot make us buffer a
blob.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp

from swarmfly.logs import redacted_url
from swarmfly.registry.errors import (
    ManifestTooLarge,
    RegistryStatusError,
    RegistryTimeout,
    RegistryUnavailable,
)

#: The biggest manifest we read; real ones are a few KiB, the largest indexes tens of KiB.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
#: The most of an error body or a token answer we keep.
MAX_SMALL_BODY = 64 * 1024


@contextmanager
def translating_errors(url: str) -> Iterator[None]:
    """Re-raise aiohttp's and asyncio's exceptions as ours, ``from`` the original.

    Timeouts come first: aiohttp's ``ServerTimeoutError`` is also a connection error.
    """
    where = redacted_url(url)
    try:
        yield
    except TimeoutError as exc:
        raise RegistryTimeout(f"timed out requesting {where}") from exc
    except aiohttp.InvalidURL as exc:
        raise RegistryUnavailable(f"cannot request {where}: invalid URL") from exc
    except aiohttp.ClientConnectorError as exc:
        raise RegistryUnavailable(f"cannot connect to {where}: {exc.os_error}") from exc
    except aiohttp.ClientError as exc:
        raise RegistryUnavailable(f"request to {where} failed: {type(exc).__name__}") from exc
    except OSError as exc:
        raise RegistryUnavailable(f"request to {where} failed: {exc.strerror}") from exc


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, if it is at most ``limit`` bytes; :class:`ManifestTooLarge` otherwise.

    A ``Content-Length`` over the limit is refused before reading; without one, reading
    stops one byte past the limit.
    """
    where = redacted_url(str(response.url))
    if response.content_length is not None and response.content_length > limit:
        raise ManifestTooLarge(f"{where} is {response.content_length} bytes; the limit is {limit}")
    body = bytearray()
    with translating_errors(str(response.url)):
        while len(body) <= limit:
            data = await response.content.read(limit + 1 - len(body))
            if not data:
                return bytes(body)
            body += data
    raise ManifestTooLarge(f"{where} is more than {limit} bytes")


@dataclass(frozen=True)
class ErrorReport:
    """What a registry said about an error status: its message and its error codes."""

    message: str = ""
    codes: frozenset[str] = frozenset()


async def read_error(response: aiohttp.ClientResponse) -> ErrorReport:
    """The registry's explanation of an error status, best effort (empty if there is none)."""
    if response.method == "HEAD":
        return ErrorReport()
    try:
        body = await read_limited(response, MAX_SMALL_BODY)
    except (ManifestTooLarge, RegistryUnavailable, RegistryTimeout):
        return ErrorReport()
    return parse_error(body)


def parse_error(body: bytes) -> ErrorReport:
    """A registry error document (``{"errors": [{"code", "message"}]}``), or what else it is.

    Token servers answer in other shapes (``{"details": …}``, ``{"error": …}``) or plain text;
    those become the message as they are, cut short.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ErrorReport(body[:200].decode(errors="replace").strip())
    if not isinstance(document, dict):
        return ErrorReport()
    errors = document.get("errors")
    if isinstance(errors, list):
        entries = [e for e in errors if isinstance(e, dict)]
        messages = [str(e.get("message") or e.get("code") or "") for e in entries]
        codes = frozenset(str(e["code"]) for e in entries if e.get("code"))
        return ErrorReport("; ".join(m for m in messages if m), codes)
    for key in ("details", "detail", "error_description", "error", "message"):
        value = document.get(key)
        if isinstance(value, str):
            return ErrorReport(value[:200])
    return ErrorReport()


def status_error(response: aiohttp.ClientResponse, what: str, reason: str) -> RegistryStatusError:
    """The error for a status nothing has a better name for, with the registry's reason."""
    where = redacted_url(str(response.url))
    message = f"{what}: {response.status} from {where}"
    return RegistryStatusError(
        f"{message}: {reason}" if reason else message,
        status=response.status,
        headers=response.headers,
    )
