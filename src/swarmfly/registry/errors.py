"""What resolving an image can raise, each under the category that decides its HTTP status.

Every error here is also a :class:`RegistryError`, so a preheat can tell "the image could not
be resolved" from its own failures with one ``except``. aiohttp's and asyncio's exceptions are
translated where they enter (:func:`swarmfly.registry.responses.translating_errors`).

    SwarmflyError
    ├── InvalidInput
    │   ├── NotAManifestURL         not scheme://host[:port]/v2/<repo>/manifests/<tag|digest>
    │   ├── InvalidPlatform         not os/arch[/variant]
    │   ├── UnsupportedManifest     a manifest we cannot list blobs of (schema 1, nested index)
    │   └── ManifestTooLarge        bigger than MAX_MANIFEST_SIZE; never read whole
    ├── Unauthenticated
    │   └── Unauthorized            no credentials, or refused ones (``reason``: the registry's)
    ├── Forbidden
    │   └── Denied                  known credentials that may not pull this repository
    ├── NotFound
    │   ├── ManifestUnknown         no such repository, tag or digest
    │   └── NoMatchingPlatform      the index lacks the platform (``available`` lists its own)
    ├── CorruptContent
    │   ├── ManifestDigestMismatch  the bytes do not hash to the digest asked or announced
    │   └── InvalidManifest         the bytes are not a manifest (bad JSON, missing fields)
    ├── UpstreamError
    │   └── RegistryStatusError     any other error status, or a token server's unusable answer
    ├── Unavailable
    │   └── RegistryUnavailable     refused, reset, DNS, TLS
    └── Timeout
        └── RegistryTimeout         a request took longer than its deadline
"""

from __future__ import annotations

from collections.abc import Sequence

from swarmfly.errors import (
    CorruptContent,
    Forbidden,
    InvalidInput,
    NotFound,
    SwarmflyError,
    Timeout,
    Unauthenticated,
    Unavailable,
    UpstreamError,
)


class RegistryError(SwarmflyError):
    """Any failure to resolve an image; each subclass is also one of the categories."""


class NotAManifestURL(RegistryError, InvalidInput):
    """The URL does not name a manifest on a registry."""


class InvalidPlatform(RegistryError, InvalidInput):
    """The platform string is not ``os/arch[/variant]``."""


class UnsupportedManifest(RegistryError, InvalidInput):
    """A manifest whose blobs we cannot list: Docker schema 1, an index inside an index."""


class ManifestTooLarge(RegistryError, InvalidInput):
    """The registry offered a manifest bigger than we are willing to read."""


class Unauthorized(RegistryError, Unauthenticated):
    """The registry (or its token server) wants credentials we did not have, or refused ours.

    ``reason`` is the registry's own message (``authentication required``,
    ``invalid username or password``), safe to show: it never holds the credentials.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(f"{message}: {reason}" if reason else message)
        self.reason = reason


class Denied(RegistryError, Forbidden):
    """The credentials were accepted but may not pull this repository."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(f"{message}: {reason}" if reason else message)
        self.reason = reason


class ManifestUnknown(RegistryError, NotFound):
    """The registry has no such repository, tag or digest."""


class NoMatchingPlatform(RegistryError, NotFound):
    """The index offers no manifest for the platform; ``available`` says what it does offer."""

    def __init__(self, image: str, wanted: str, available: Sequence[str]) -> None:
        offered = ", ".join(available) if available else "none"
        super().__init__(f"{image} has no manifest for platform {wanted} (available: {offered})")
        self.wanted = wanted
        self.available = tuple(available)


class ManifestDigestMismatch(RegistryError, CorruptContent):
    """The manifest's bytes do not hash to the digest they were asked for or announced with."""


class InvalidManifest(RegistryError, CorruptContent):
    """The registry sent bytes that are not a manifest of the type it claimed."""


class RegistryStatusError(RegistryError, UpstreamError):
    """An error status we have no better name for (429, 500, …), or an unusable token answer."""


class RegistryUnavailable(RegistryError, Unavailable):
    """The registry or its token server could not be reached, or dropped the connection."""


class RegistryTimeout(RegistryError, Timeout):
    """A request to the registry or its token server passed its deadline."""
