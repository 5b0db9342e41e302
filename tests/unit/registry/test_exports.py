"""The public surface of ``swarmfly.registry`` is pinned, and each error sits in its category."""

from __future__ import annotations

import pytest

import swarmfly.registry
from swarmfly import errors
from swarmfly.registry import (
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


def test_exported_members() -> None:
    assert sorted(swarmfly.registry.__all__) == sorted(
        [
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
    )
    assert all(hasattr(swarmfly.registry, name) for name in swarmfly.registry.__all__)


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (NotAManifestURL("x"), errors.InvalidInput),
        (InvalidPlatform("x"), errors.InvalidInput),
        (UnsupportedManifest("x"), errors.InvalidInput),
        (ManifestTooLarge("x"), errors.InvalidInput),
        (Unauthorized("x", reason="r"), errors.Unauthenticated),
        (Denied("x", reason="r"), errors.Forbidden),
        (ManifestUnknown("x"), errors.NotFound),
        (NoMatchingPlatform("img", "linux/s390x", ["linux/amd64"]), errors.NotFound),
        (ManifestDigestMismatch("x"), errors.CorruptContent),
        (InvalidManifest("x"), errors.CorruptContent),
        (RegistryStatusError("x", status=500), errors.UpstreamError),
        (RegistryUnavailable("x"), errors.Unavailable),
        (RegistryTimeout("x"), errors.Timeout),
    ],
)
def test_each_error_is_a_registry_error_in_its_category(
    error: RegistryError, category: type[errors.SwarmflyError]
) -> None:
    assert isinstance(error, RegistryError)
    assert isinstance(error, category)


def test_error_messages_carry_the_registrys_reason_and_the_platforms() -> None:
    assert str(Unauthorized("registry r refused", reason="bad password")) == (
        "registry r refused: bad password"
    )
    assert str(NoMatchingPlatform("r/a:v1", "linux/s390x", ["linux/amd64", "linux/arm64"])) == (
        "r/a:v1 has no manifest for platform linux/s390x (available: linux/amd64, linux/arm64)"
    )
