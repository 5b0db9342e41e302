"""What the source layer needs of an HTTP answer, whichever client carried it.

Plain ``http://`` goes through :mod:`swarmfly.source.plain_http` (threads, fast); ``https://``
through aiohttp. Both answers look the same from here up: a status, headers that keep
repeats, the URL, a body read in the pieces the network delivered, and ``release``.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL


class RawResponse(Protocol):
    """An open answer whose body has not been read; the owner releases it."""

    status: int
    headers: CIMultiDictProxy[str]
    url: URL

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body; empty at its end."""

    async def readchunk(self) -> bytes:
        """The next bytes as the network delivered them; empty at the end of the body."""

    def release(self) -> None:
        """Give the connection back (or close it when the body was not read to the end)."""

    def bound_wait(self, seconds: float | None) -> None:
        """Let the next reads wait at most ``seconds`` (the request's remaining budget)."""


class AiohttpResponse:
    """An aiohttp answer seen as a :class:`RawResponse`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.status = response.status
        self.headers: CIMultiDictProxy[str] = response.headers
        self.url = response.url
        self._response = response

    async def read(self, size: int) -> bytes:
        return await self._response.content.read(size)

    async def readchunk(self) -> bytes:
        # ``readchunk`` hands over one buffer as aiohttp received it, where ``read(n)`` joins
        # all that is buffered into a new object: one copy of every byte saved.
        while True:
            data, end_of_http_chunk = await self._response.content.readchunk()
            if data or not end_of_http_chunk:  # data, or (b"", False) at the end of the body
                return data

    def release(self) -> None:
        self._response.release()

    def bound_wait(self, seconds: float | None) -> None:
        pass  # aiohttp's own total timeout (the request's budget) covers the body
