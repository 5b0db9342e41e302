"""Manifest and blob URLs on a registry: parsing what a preheat is given, building what it fetches.

A preheat names an image by its manifest URL, as Dragonfly's Open API does:
``https://registry.example.com:5000/v2/team/app/manifests/v1.2`` (or ``…/manifests/sha256:…``).
Everything the preheat fetches afterwards (the platform's manifest, the config, the layers)
lives on the same registry and repository, so one :class:`ManifestReference` carries the
registry's base URL, the repository and the tag or digest, and builds the other URLs. Pure: no
I/O, so the proxy, tests and the console can use it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from swarmfly.digests import Digest, parse_digest
from swarmfly.errors import InvalidInput
from swarmfly.registry.errors import NotAManifestURL

_MANIFEST_PATH = re.compile(r"^/v2/(?P<repository>.+)/manifests/(?P<reference>[^/]+)$")
# The distribution spec's grammar: lowercase components joined by ".", "_", "__" or dashes.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_MAX_REPOSITORY_LENGTH = 255
_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class ManifestReference:
    """A manifest on a registry: ``registry`` is ``scheme://host[:port]``, with no path."""

    registry: str
    repository: str
    reference: str  # a tag, or a digest such as "sha256:<hex>"

    @property
    def digest(self) -> Digest | None:
        """The digest when the reference is one (then the bytes must hash to it), else None."""
        return parse_digest(self.reference) if ":" in self.reference else None

    @property
    def url(self) -> str:
        return f"{self.registry}/v2/{self.repository}/manifests/{self.reference}"

    @property
    def host(self) -> str:
        """``host[:port]``: the registry as image references and ``?ns=`` spell it."""
        return self.registry.split("://", 1)[1]

    def with_reference(self, reference: str) -> ManifestReference:
        """Another manifest in the same repository (a platform's manifest from an index)."""
        return replace(self, reference=reference)

    def blob_url(self, digest: str) -> str:
        """``…/v2/<repo>/blobs/<digest>``: the URL whose task ID is the digest's hex."""
        return blob_url(self.registry, self.repository, digest)

    def __str__(self) -> str:
        separator = "@" if self.digest is not None else ":"
        return f"{self.host}/{self.repository}{separator}{self.reference}"


def parse_manifest_url(url: str) -> ManifestReference:
    """Split ``scheme://host[:port]/v2/<repository>/manifests/<tag or digest>``.

    The repository may hold slashes; the host is lowercased. Credentials in the URL, a query
    and a fragment are refused rather than dropped: credentials go in ``username`` and
    ``password``, and a query would silently change which URLs the blobs get.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise NotAManifestURL(f"not a manifest URL: {url!r} ({exc})") from exc
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise NotAManifestURL(f"not a manifest URL: {url!r} (needs http(s)://host)")
    if parts.username is not None or parts.password is not None:
        raise NotAManifestURL("credentials in a manifest URL: give username and password instead")
    if parts.query or parts.fragment:
        raise NotAManifestURL(f"not a manifest URL: {url!r} (no query or fragment allowed)")
    match = _MANIFEST_PATH.match(parts.path)
    if match is None:
        raise NotAManifestURL(
            f"not a manifest URL: {url!r} (expected …/v2/<repository>/manifests/<tag or digest>)"
        )
    repository = validate_repository(match.group("repository"))
    reference = validate_reference(match.group("reference"))
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return ManifestReference(f"{parts.scheme.lower()}://{netloc}", repository, reference)


def validate_repository(repository: str) -> str:
    """``repository`` if the distribution spec allows it (lowercase, slash-separated)."""
    if len(repository) > _MAX_REPOSITORY_LENGTH or not _REPOSITORY.match(repository):
        raise NotAManifestURL(f"not a valid repository name: {repository!r}")
    return repository


def validate_reference(reference: str) -> str:
    """A tag (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``) or a sha256/sha512 digest."""
    if ":" in reference:
        try:
            return str(parse_digest(reference))
        except InvalidInput as exc:
            raise NotAManifestURL(f"not a valid manifest digest: {reference!r}") from exc
    if not _TAG.match(reference):
        raise NotAManifestURL(f"not a valid tag: {reference!r}")
    return reference


def blob_url(registry: str, repository: str, digest: str) -> str:
    """The URL of a blob: what a seed peer fetches, and what ``idgen.task_id`` names."""
    return f"{registry}/v2/{repository}/blobs/{digest}"
