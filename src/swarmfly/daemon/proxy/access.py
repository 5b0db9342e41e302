"""No leaks between tenants: stored bytes go only to a client the upstream would serve them to.

A blob pulled once with one team's credentials sits in the store under its digest. Another
client asking for the same digest must not get it just because it is there: before the store
serves a request whose bytes it did not fetch with that request's own credentials, the
upstream is asked, with those credentials, whether it would serve the same object (a ``HEAD``
of the blob; a one-byte ``GET`` for other URLs, since signed URLs are signed for GET only).
A yes (any 2xx or 3xx: a registry's redirect to object storage is a yes) is remembered per
credential and repository for a short TTL; a yes to an anonymous request marks the repository
public for everybody. A no is not remembered and not acted on here: the caller relays the
request, so the client gets the upstream's own answer (its 401 and ``WWW-Authenticate``), never
the stored bytes. Concurrent checks of the same key share one upstream request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from swarmfly.daemon.metrics import ProxyMetrics
from swarmfly.daemon.proxy.headers import store_headers
from swarmfly.daemon.proxy.upstream import UpstreamClient
from swarmfly.errors import Timeout, Unavailable
from swarmfly.logs import redacted_url

logger = logging.getLogger(__name__)

#: Headers that say who the client is.
_CREDENTIALS = frozenset({"authorization", "cookie"})

ANONYMOUS = ""


@dataclass(frozen=True)
class AccessKey:
    """Whose answer about what: a credential fingerprint and the scope it was asked for."""

    scope: str  # registry origin and repository for a blob; else the URL
    credential: str  # sha256 of the credentials the request carries; "" when it has none


def scope_of(url: str, *, is_blob: bool) -> str:
    """A registry grants pulls per repository; other content is granted per URL."""
    if not is_blob:
        return url
    parts = urlsplit(url)
    repository = parts.path.rpartition("/blobs/")[0]
    return f"{parts.scheme}://{parts.netloc.lower()}{repository}"


def credential_of(headers: Iterable[tuple[str, str]]) -> str:
    """A fingerprint of the request's credentials (never the credentials themselves)."""
    hasher = hashlib.sha256()
    found = False
    for name, value in headers:
        if name.lower() in _CREDENTIALS:
            hasher.update(f"{name.lower()}:{value}\n".encode(errors="surrogateescape"))
            found = True
    return hasher.hexdigest() if found else ANONYMOUS


class AccessCache:
    """Positive answers that expire after ``ttl`` seconds, at most ``limit`` of them."""

    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, limit: int = 4096
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._limit = limit
        self._until: OrderedDict[AccessKey, float] = OrderedDict()

    def allows(self, key: AccessKey) -> bool:
        """Whether ``key``, or its scope for everybody, was granted within the TTL."""
        now = self._clock()
        return any(
            self._until.get(candidate, now) > now
            for candidate in (AccessKey(key.scope, ANONYMOUS), key)
        )

    def remember(self, key: AccessKey) -> None:
        self._until[key] = self._clock() + self._ttl
        self._until.move_to_end(key)
        while len(self._until) > self._limit:
            self._until.popitem(last=False)


class AccessChecker:
    """Asks the upstream, on a client's behalf, whether it may have stored bytes."""

    def __init__(
        self,
        upstream: UpstreamClient,
        metrics: ProxyMetrics,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstream = upstream
        self._metrics = metrics
        self._cache = AccessCache(ttl, clock=clock)
        self._pending: dict[AccessKey, asyncio.Future[bool | None]] = {}

    async def allows(self, url: str, *, is_blob: bool, headers: Iterable[tuple[str, str]]) -> bool:
        """Whether the upstream would serve ``url`` to a client sending ``headers``."""
        pairs = list(headers)
        key = AccessKey(scope_of(url, is_blob=is_blob), credential_of(pairs))
        if self._cache.allows(key):
            self._metrics.access_checks.labels("cached").inc()
            return True
        allowed = await self._once(key, lambda: self._ask(url, is_blob, pairs))
        if allowed:
            self._cache.remember(key)
        self._metrics.access_checks.labels("allowed" if allowed else "denied").inc()
        return allowed

    async def _once(self, key: AccessKey, ask: Callable[[], Awaitable[bool]]) -> bool:
        """One upstream question per key at a time; the others wait for its answer."""
        pending = self._pending.get(key)
        if pending is not None:
            answer = await asyncio.shield(pending)
            if answer is not None:
                return answer
            # The asker left without an answer (its client went away): ask ourselves.
        future: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        answer = None
        try:
            answer = await ask()
            return answer
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
            future.set_result(answer)

    async def _ask(self, url: str, is_blob: bool, pairs: list[tuple[str, str]]) -> bool:
        headers = store_headers(pairs)
        method = "HEAD" if is_blob else "GET"
        if not is_blob:
            headers.append(("Range", "bytes=0-0"))
        try:
            async with self._upstream.request(method, url, headers) as answer:
                status = answer.status
        except (Unavailable, Timeout) as exc:
            # Unanswered is not a yes: the caller relays, and the client sees the failure.
            logger.warning(
                "access check failed", extra={"url": redacted_url(url), "error": str(exc)}
            )
            return False
        return status < 400 or (status == 416 and not is_blob)
