"""The OCI/Docker registry client behind image preheat: manifests, platforms, token auth.

The public names are re-exported here; import them from ``swarmfly.registry``.
"""

from swarmfly.registry.client import Blob, RegistryClient, ResolvedImage
from swarmfly.registry.credentials import Credentials
from swarmfly.registry.documents import (
    ACCEPT,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
)
from swarmfly.registry.errors import (
    Denied,
    InvalidManifest,
    InvalidPlatform,
    ManifestDigestMismatch,
    ManifestTooLarge,
    ManifestUnknown,
    NoMatchingPlatform,
    NotAManifestURL,
    RegistryError,
    RegistryStatusError,
    RegistryTimeout,
    RegistryUnavailable,
    Unauthorized,
    UnsupportedManifest,
)
from swarmfly.registry.platforms import DEFAULT_PLATFORM, Platform, parse_platform
from swarmfly.registry.references import ManifestReference, blob_url, parse_manifest_url
from swarmfly.registry.responses import MAX_MANIFEST_SIZE

__all__ = [
    "ACCEPT",
    "DEFAULT_PLATFORM",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MAX_MANIFEST_SIZE",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Blob",
    "Credentials",
    "Denied",
    "InvalidManifest",
    "InvalidPlatform",
    "ManifestDigestMismatch",
    "ManifestReference",
    "ManifestTooLarge",
    "ManifestUnknown",
    "NoMatchingPlatform",
    "NotAManifestURL",
    "Platform",
    "RegistryClient",
    "RegistryError",
    "RegistryStatusError",
    "RegistryTimeout",
    "RegistryUnavailable",
    "ResolvedImage",
    "Unauthorized",
    "UnsupportedManifest",
    "blob_url",
    "parse_manifest_url",
    "parse_platform",
]
