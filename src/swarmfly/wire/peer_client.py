"""A typed client for another peer's piece server (port 4000)."""

from __future__ import annotations

import asyncio
import http.client
from dataclasses import dataclass

import aiohttp
from yarl import URL

from swarmfly import errors
from swarmfly.ratelimit import RateLimiter, throttle
from swarmfly.source.plain_http import PlainHTTP
from swarmfly.wire import headers
from swarmfly.wire.errors import error_from_response
from swarmfly.wire.pieces import PieceList

_ERROR_BODY_LIMIT = 16 * 1024


class ParentBusy(errors.Unavailable):
    """The parent is healthy but will not send the piece now (503): every upload slot is taken,
    or (a seed peer) it sent that piece moments ago. ``retry_after``: seconds, when it said."""


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in delay-seconds (a parent never sends the HTTP-date form)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


@dataclass(frozen=True)
class PieceBytes:
    number: int
    offset: int
    digest: str  # xxh3 hex as the parent recorded it
    data: bytes


class PieceClient:
    """Asks parents for piece lists and pieces; every failure is one of our error categories."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        plain: PlainHTTP,
        *,
        piece_timeout: float,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._session = session
        self._plain = plain
        self._piece_timeout = piece_timeout
        self._rate_limiter = rate_limiter

    async def list_pieces(
        self, ip: str, port: int, task_id: str, *, known: int = -1, wait: float = 0.0
    ) -> PieceList | None:
        """The parent's finished pieces; with ``wait``, the parent answers once it has more than
        ``known`` (or the wait ends). None when the parent does not have the task."""
        url = f"http://{ip}:{port}/tasks/{task_id}/pieces"
        params = {"known": str(known), "wait": f"{wait:.3f}"}
        timeout = aiohttp.ClientTimeout(total=wait + self._piece_timeout)
        try:
            async with self._session.get(url, params=params, timeout=timeout) as response:
                body = await response.read()
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.Unavailable(f"parent {ip}:{port} is unreachable: {exc}") from exc
        except TimeoutError as exc:
            raise errors.Timeout(f"parent {ip}:{port} did not answer in time") from exc
        if response.status == 404:
            return None
        if response.status != 200:
            raise error_from_response(response.status, body, who=f"parent {ip}:{port}")
        return PieceList.model_validate_json(body)

    async def fetch_piece(self, ip: str, port: int, task_id: str, number: int) -> PieceBytes:
        """One piece's bytes (at most one piece length: the caller bounds memory by concurrency).

        Fetched with ``http.client`` on a worker thread (kept-alive per parent), which reads
        the body straight into one object: through the event loop a piece arrived in
        quarter-MiB chunks that were joined again, a quarter of a peer's loop time in the
        16-peer benchmark. ``download.pieceTimeout`` bounds the whole piece.
        """
        url = URL.build(scheme="http", host=ip, port=port, path=f"/tasks/{task_id}/pieces/{number}")
        try:
            async with asyncio.timeout(self._piece_timeout):
                response = await self._plain.send(
                    "GET", url, [], connect_timeout=5.0, read_timeout=self._piece_timeout
                )
                try:
                    if response.status == 503:
                        raise ParentBusy(
                            f"parent {ip}:{port} has no free upload slot",
                            retry_after=_retry_after(response.headers.get("Retry-After")),
                        )
                    if response.status != 200:
                        body = await response.read(_ERROR_BODY_LIMIT)
                        raise error_from_response(response.status, body, who=f"parent {ip}:{port}")
                    data = await response.read_all()
                finally:
                    response.release()
            digest = response.headers.get(headers.PIECE_DIGEST, "").removeprefix("xxh3:")
            offset = int(response.headers.get(headers.PIECE_OFFSET, "-1"))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise errors.Unavailable(f"parent {ip}:{port} failed piece {number}: {exc}") from exc
        except TimeoutError as exc:
            raise errors.Timeout(f"parent {ip}:{port} stalled on piece {number}") from exc
        await throttle(self._rate_limiter, len(data))  # download.rateLimit covers parents too
        return PieceBytes(number=number, offset=offset, digest=digest, data=data)
