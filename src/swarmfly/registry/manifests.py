"""Fetching manifests: the auth dance around each request, a size cap, digest checks, parsing.

A manifest is read whole (it is small, and capped at :data:`MAX_MANIFEST_SIZE`); its bytes are
checked against the digest in the reference when the reference is one, otherwise against the
``Docker-Content-Digest`` the registry announced, when it did. So the digest a preheat reports
is always the digest of the bytes it read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from swarmfly.digests import Digest, parse_digest
from swarmfly.errors import InvalidInput
from swarmfly.logs import redacted_url
from swarmfly.registry.auth import Authorizer
from swarmfly.registry.challenges import parse_challenges
from swarmfly.registry.documents import ACCEPT, ImageIndex, ImageManifest, parse_document
from swarmfly.registry.errors import Denied, ManifestDigestMismatch, ManifestUnknown
from swarmfly.registry.references import ManifestReference
from swarmfly.registry.responses import (
    MAX_MANIFEST_SIZE,
    read_error,
    read_limited,
    status_error,
    translating_errors,
)

logger = logging.getLogger(__name__)

USER_AGENT = "swarmfly-registry-client"

#: Caller headers that this client sets itself, or that make no sense on a manifest request.
_OWN_HEADERS = frozenset({"authorization", "accept", "host", "content-length", "range"})


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest as read and checked: its digest, media type and parsed document."""

    reference: ManifestReference
    digest: str
    media_type: str
    size: int
    document: ImageManifest | ImageIndex


class ManifestFetcher:
    """Gets manifests for :class:`~swarmfly.registry.client.RegistryClient` (which owns the
    session this borrows)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_size: int = MAX_MANIFEST_SIZE,
    ) -> None:
        self._session = session
        self._timeout = timeout
        self._max_size = max_size

    async def fetch(
        self,
        reference: ManifestReference,
        authorizer: Authorizer,
        headers: Mapping[str, str],
    ) -> FetchedManifest:
        """GET a manifest, checked against its digest and parsed."""
        response = await self._send("GET", reference, authorizer, headers)
        try:
            data = await read_limited(response, self._max_size)
            announced = response.headers.get("Docker-Content-Digest")
            content_type = response.headers.get("Content-Type")
        finally:
            response.release()
        digest = checked_digest(reference, data, announced)
        document = parse_document(data, content_type)
        logger.debug(
            "manifest fetched",
            extra={"image": str(reference), "digest": digest, "bytes": len(data)},
        )
        return FetchedManifest(reference, digest, document.media_type or "", len(data), document)

    async def check(
        self,
        reference: ManifestReference,
        authorizer: Authorizer,
        headers: Mapping[str, str],
    ) -> None:
        """HEAD a manifest: proves (and, through the dance, earns) the right to pull."""
        response = await self._send("HEAD", reference, authorizer, headers)
        response.release()

    async def _send(
        self,
        method: str,
        reference: ManifestReference,
        authorizer: Authorizer,
        headers: Mapping[str, str],
    ) -> aiohttp.ClientResponse:
        """A 2xx response to ``method`` on the manifest, with at most one challenge answered."""
        base = {k: v for k, v in headers.items() if k.lower() not in _OWN_HEADERS}
        base |= {"Accept": ACCEPT, "User-Agent": USER_AGENT}
        for attempt in (1, 2):
            authorization = await authorizer.authorization()
            sent = base | ({"Authorization": authorization} if authorization else {})
            response = await self._request(method, reference.url, sent)
            if response.status != 401:
                return await _checked(response, reference)
            challenges = parse_challenges(response.headers.getall("WWW-Authenticate", []))
            try:
                report = await read_error(response)
            finally:
                response.release()
            if attempt == 2:
                raise authorizer.refused(challenges, report)
            authorizer.challenged(challenges, report)
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        with translating_errors(url):
            return await self._session.request(
                method,
                url,
                headers=dict(headers),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )


async def _checked(
    response: aiohttp.ClientResponse, reference: ManifestReference
) -> aiohttp.ClientResponse:
    """``response`` if it is 2xx; otherwise it is released and the matching error raised."""
    if 200 <= response.status < 300:
        return response
    try:
        report = await read_error(response)
    finally:
        response.release()
    if response.status == 404:
        reason = f": {report.message}" if report.message else ""
        raise ManifestUnknown(f"{reference} is not on the registry{reason}")
    if response.status == 403 or "DENIED" in report.codes:
        raise Denied(f"pulling {reference} is not allowed", reason=report.message)
    raise status_error(response, f"cannot fetch manifest {reference}", report.message)


def checked_digest(reference: ManifestReference, data: bytes, announced: str | None) -> str:
    """The digest of ``data``, after checking it against the reference's or the announced one.

    An announced digest that does not parse is ignored (some proxies send junk); one that
    parses and differs is a mismatch, like a reference digest that differs.
    """
    expected: Digest | None = reference.digest
    if expected is None and announced:
        try:
            expected = parse_digest(announced)
        except InvalidInput:
            logger.warning(
                "registry announced an invalid digest",
                extra={"url": redacted_url(reference.url), "digest": announced[:80]},
            )
    algorithm = expected.algorithm if expected is not None else "sha256"
    actual = hashlib.new(algorithm, data).hexdigest()
    if expected is not None and actual != expected.hex:
        raise ManifestDigestMismatch(
            f"manifest {reference} hashes to {algorithm}:{actual}, expected {expected}"
        )
    return f"{algorithm}:{actual}"
