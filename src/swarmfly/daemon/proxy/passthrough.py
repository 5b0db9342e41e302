"""Relay a request to its upstream and the answer back, streamed, headers kept as pairs.

Manifests, tags, tokens, ``/v2/`` probes, HEADs and uploads all take this path, and so does a
blob whenever the store cannot or must not serve it. The body goes both ways in the chunks the
network gives, never whole. The upstream's status, reason and headers come back unchanged
(``401`` with ``WWW-Authenticate`` included, so a client's token dance works through the
mirror); an error status is marked ``X-Dragonfly-Error-Type: backend``. Once the answer has
started, a failure cuts the client's connection: a short body must never look complete.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from swarmfly.daemon.metrics import ProxyMetrics
from swarmfly.daemon.proxy.headers import client_headers, upstream_headers
from swarmfly.daemon.proxy.upstream import UpstreamClient, UpstreamResponse
from swarmfly.daemon.serving import abort
from swarmfly.digests import Digest, DigestMismatch
from swarmfly.errors import SwarmflyError
from swarmfly.logs import redacted_url
from swarmfly.source.window import content_length_of
from swarmfly.wire import headers as names

logger = logging.getLogger(__name__)


async def relay(
    request: web.Request,
    url: str,
    upstream: UpstreamClient,
    metrics: ProxyMetrics,
    *,
    extra: Mapping[str, str] | None = None,
    verify: Digest | None = None,
) -> web.StreamResponse:
    """Send ``request`` to ``url`` as it came and stream the answer back.

    ``extra`` headers are added to a successful answer. With ``verify``, a whole (200) body is
    hashed as it passes and its last chunk held back until it matches: on a mismatch the
    client's connection is cut before the last byte.
    """
    body = request.content if request.body_exists else None
    async with upstream.request(
        request.method, url, upstream_headers(request.headers.items()), body
    ) as answer:
        response = web.StreamResponse(status=answer.status, reason=answer.reason)
        for name, value in client_headers(answer.headers.items()):
            response.headers.add(name, value)
        if answer.status >= 400:
            response.headers[names.ERROR_TYPE] = "backend"
        elif extra:
            response.headers.update(extra)
        length = content_length_of(answer.headers)
        if length is not None:
            response.content_length = length
        await response.prepare(request)
        if request.method != "HEAD":
            digest = verify if answer.status == 200 else None
            await _stream_body(request, response, answer, metrics, digest, url)
    return response


async def _stream_body(
    request: web.Request,
    response: web.StreamResponse,
    answer: UpstreamResponse,
    metrics: ProxyMetrics,
    digest: Digest | None,
    url: str,
) -> None:
    chunks = answer.iter_chunks()
    if digest is not None:
        chunks = _verified(chunks, digest)
    sent = 0
    try:
        async for chunk in chunks:
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except (SwarmflyError, ConnectionError) as exc:
        abort(request)
        logger.warning(
            "relay cut",
            extra={
                "url": redacted_url(url),
                "bytes": sent,
                "error": str(exc) or type(exc).__name__,
            },
        )
    finally:
        metrics.bytes.labels("upstream").inc(sent)


async def _verified(chunks: AsyncIterator[bytes], digest: Digest) -> AsyncIterator[bytes]:
    """``chunks``, each yielded once the next has arrived; the last only if the digest matches."""
    hasher = hashlib.new(digest.algorithm)
    held: bytes | None = None
    async for chunk in chunks:
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    actual = hasher.hexdigest()
    if actual != digest.hex:
        raise DigestMismatch(digest, actual)
    if held is not None:
        yield held
