"""The registry client a preheat uses: an image's manifest URL in, the blobs to fetch out.

::

    async with RegistryClient.open(insecure=False) as client:
        image = await client.resolve_image(url, platform="linux/arm64", username=u, password=p)
        for blob in image.blobs:
            headers = await client.blob_headers(url, username=u, password=p)  # still valid
            ...order a seed peer to fetch blob.url with headers...

The client owns one ``aiohttp.ClientSession`` and the token cache; both live as long as it
does, so open one per process (or per app, in a cleanup context), not one per job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

from swarmfly.registry.auth import Authorizer
from swarmfly.registry.credentials import credentials_of
from swarmfly.registry.documents import Descriptor, ImageIndex, ImageManifest
from swarmfly.registry.errors import NoMatchingPlatform, UnsupportedManifest
from swarmfly.registry.manifests import FetchedManifest, ManifestFetcher
from swarmfly.registry.platforms import DEFAULT_PLATFORM, Platform, best_match, parse_platform
from swarmfly.registry.references import ManifestReference, parse_manifest_url
from swarmfly.registry.tokens import Clock, TokenIssuer

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Blob:
    """A blob a pull of the image fetches: the config or a layer, at its URL on the registry."""

    digest: str
    size: int
    media_type: str
    url: str  # …/v2/<repo>/blobs/<digest>: idgen.task_id(url) is the digest's hex


@dataclass(frozen=True)
class ResolvedImage:
    """One platform's image: its manifest and the blobs to preheat, config first.

    ``headers_for_blobs`` are the caller's headers with the ``Authorization`` the dance ended
    with (a secret: never logged, left out of ``repr``); ``token_expires_in`` is the seconds
    left on that token when it is one of ours, else None. ``platform`` is the one chosen from
    an index; None when the URL named a single manifest (which is not checked against it).
    """

    image: str  # "host[:port]/repo:tag" or "…@sha256:…", for messages
    manifest_digest: str
    media_type: str
    platform: Platform | None
    blobs: tuple[Blob, ...]
    headers_for_blobs: Mapping[str, str] = field(repr=False)
    index_digest: str | None = None
    token_expires_in: float | None = None


class RegistryClient:
    """Resolves images on OCI/Docker registries, answering their auth challenges.

    It borrows ``session`` (see :meth:`open` for one it owns). ``clock`` is what token expiry
    is measured on, so tests can move it; ``request_timeout`` bounds each request.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        clock: Clock = time.monotonic,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._tokens = TokenIssuer(session, clock=clock, timeout=request_timeout)
        self._manifests = ManifestFetcher(session, timeout=request_timeout)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        *,
        insecure: bool = False,
        clock: Clock = time.monotonic,
        request_timeout: float = DEFAULT_TIMEOUT,
        trust_env: bool = False,
    ) -> AsyncIterator[RegistryClient]:
        """A client with its own session, closed on exit.

        TLS certificates are verified unless ``insecure``. Proxy environment variables are
        ignored unless ``trust_env``.
        """
        connector = aiohttp.TCPConnector(ssl=not insecure)
        async with aiohttp.ClientSession(connector=connector, trust_env=trust_env) as session:
            yield cls(session, clock=clock, request_timeout=request_timeout)

    async def resolve_image(
        self,
        url: str,
        *,
        platform: str | None = DEFAULT_PLATFORM,
        headers: Mapping[str, str] | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> ResolvedImage:
        """The blobs of the image at manifest ``url``, for ``platform`` when it is an index.

        Raises a :class:`~swarmfly.registry.errors.RegistryError`: ``NotAManifestURL``,
        ``InvalidPlatform``, ``Unauthorized``, ``Denied``, ``ManifestUnknown``,
        ``NoMatchingPlatform``, ``ManifestDigestMismatch``, ``UnsupportedManifest``, …
        """
        reference = parse_manifest_url(url)
        wanted = parse_platform(platform or DEFAULT_PLATFORM)
        caller = dict(headers or {})
        authorizer = self._authorizer(reference, caller, username, password)
        top = await self._manifests.fetch(reference, authorizer, caller)
        manifest, chosen = top, None
        if isinstance(top.document, ImageIndex):
            descriptor, chosen = choose_platform(top, top.document, wanted)
            manifest = await self._manifests.fetch(
                reference.with_reference(descriptor.digest), authorizer, caller
            )
        if not isinstance(manifest.document, ImageManifest):
            raise UnsupportedManifest(f"{reference}: the index for {chosen} names another index")
        resolved = ResolvedImage(
            image=str(reference),
            manifest_digest=manifest.digest,
            media_type=manifest.media_type,
            platform=chosen,
            blobs=blobs_of(reference, manifest.document),
            headers_for_blobs=headers_with(caller, await authorizer.authorization()),
            index_digest=top.digest if chosen is not None else None,
            token_expires_in=authorizer.token_expires_in(),
        )
        log_resolved(resolved)
        return resolved

    async def blob_headers(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        username: str | None = None,
        password: str | None = None,
        renew: bool = False,
    ) -> dict[str, str]:
        """The headers to fetch blobs of the image at ``url`` with, valid now.

        A preheat that orders blobs over minutes calls this before each order: a cached token
        is returned as it is, one about to expire is renewed. ``renew`` is for after a seed
        peer was refused (401) with earlier headers: the cached token and the caller's own
        ``Authorization`` are set aside and the dance runs again.
        """
        reference = parse_manifest_url(url)
        caller = dict(headers or {})
        if renew:
            caller = {k: v for k, v in caller.items() if k.lower() != "authorization"}
        authorizer = self._authorizer(reference, caller, username, password)
        if renew:
            authorizer.forget_token()
        if renew or not authorizer.settled:
            await self._manifests.check(reference, authorizer, caller)
        return headers_with(caller, await authorizer.authorization())

    def _authorizer(
        self,
        reference: ManifestReference,
        caller: Mapping[str, str],
        username: str | None,
        password: str | None,
    ) -> Authorizer:
        return Authorizer(
            self._tokens,
            reference.registry,
            reference.repository,
            credentials=credentials_of(username, password),
            caller_authorization=authorization_of(caller),
        )


def log_resolved(resolved: ResolvedImage) -> None:
    logger.info(
        "image resolved",
        extra={
            "image": resolved.image,
            "manifest_digest": resolved.manifest_digest,
            "platform": str(resolved.platform) if resolved.platform else None,
            "blobs": len(resolved.blobs),
            "bytes": sum(blob.size for blob in resolved.blobs),
        },
    )


def choose_platform(
    fetched: FetchedManifest, index: ImageIndex, wanted: Platform
) -> tuple[Descriptor, Platform]:
    """The index entry for ``wanted`` and the platform it offers; entries without a platform,
    or for ``unknown/unknown`` (BuildKit's attestations), are never chosen nor listed."""
    offered = [platform_of(descriptor) for descriptor in index.manifests]
    chosen = best_match(wanted, offered)
    if chosen is None:
        available = list(dict.fromkeys(str(p) for p in offered if p is not None))
        raise NoMatchingPlatform(str(fetched.reference), str(wanted), available)
    platform = offered[chosen]
    assert platform is not None  # best_match never picks an entry without one
    return index.manifests[chosen], platform


def platform_of(descriptor: Descriptor) -> Platform | None:
    """The platform an index entry serves, or None for one that serves no platform."""
    if descriptor.platform is None or descriptor.platform.os.lower() == "unknown":
        return None
    return descriptor.platform.normalised()


def blobs_of(reference: ManifestReference, manifest: ImageManifest) -> tuple[Blob, ...]:
    """The config, then each layer, once each (a manifest may repeat an empty layer)."""
    seen: dict[str, Blob] = {}
    for descriptor in (manifest.config, *manifest.layers):
        if descriptor.digest not in seen:
            seen[descriptor.digest] = Blob(
                descriptor.digest,
                descriptor.size,
                descriptor.media_type,
                reference.blob_url(descriptor.digest),
            )
    return tuple(seen.values())


def authorization_of(headers: Mapping[str, str]) -> str | None:
    """The caller's ``Authorization``, whatever its case."""
    return next((v for k, v in headers.items() if k.lower() == "authorization"), None)


def headers_with(caller: Mapping[str, str], authorization: str | None) -> dict[str, str]:
    """The caller's headers with ``Authorization`` replaced by the one that worked."""
    headers = {k: v for k, v in caller.items() if k.lower() != "authorization"}
    if authorization:
        headers["Authorization"] = authorization
    return headers
