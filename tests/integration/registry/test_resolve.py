"""Resolving images on a real docker-registry with no auth: media types, indexes, names, misses."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest

from swarmfly.idgen import task_id
from swarmfly.registry import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    ManifestUnknown,
    NoMatchingPlatform,
    RegistryClient,
    ResolvedImage,
    parse_platform,
)
from tests.integration.registry.conftest import TAG, RegistryImages
from tests.support.images import Image
from tests.support.registry import Registry


async def assert_blobs_fetchable(resolved: ResolvedImage) -> None:
    """Each blob URL answers the blob's bytes with the headers a seed peer would send."""
    async with aiohttp.ClientSession() as session:
        for blob in resolved.blobs:
            async with session.get(blob.url, headers=dict(resolved.headers_for_blobs)) as response:
                assert response.status == 200, await response.text()
                data = await response.read()
            assert f"sha256:{hashlib.sha256(data).hexdigest()}" == blob.digest
            assert len(data) == blob.size


def expected_image(images: RegistryImages, platform: str | None) -> Image:
    return images.single if platform is None else images.multi.images[platform]


@pytest.mark.parametrize(
    ("repository", "platform", "image_platform", "manifest_type"),
    [
        ("test/img", "linux/amd64", None, OCI_MANIFEST),
        ("test/deep/nested/img", "linux/amd64", None, OCI_MANIFEST),
        ("test/docker", "linux/amd64", None, DOCKER_MANIFEST),
        ("test/multi", "linux/amd64", "linux/amd64", OCI_MANIFEST),
        ("test/multi", "linux/arm64", "linux/arm64", OCI_MANIFEST),
        ("test/multi", "linux/aarch64", "linux/arm64", OCI_MANIFEST),
        ("test/docker-multi", "linux/arm64/v8", "linux/arm64", DOCKER_MANIFEST),
    ],
)
async def test_resolves_each_kind_of_manifest_to_its_blobs(
    client: RegistryClient,
    registry: Registry,
    registry_images: RegistryImages,
    repository: str,
    platform: str,
    image_platform: str | None,
    manifest_type: str,
) -> None:
    url = f"{registry.url}/v2/{repository}/manifests/{TAG}"
    resolved = await client.resolve_image(url, platform=platform)

    image = expected_image(registry_images, image_platform)
    assert [blob.digest for blob in resolved.blobs] == [b.digest for b in image.blobs]
    assert [blob.size for blob in resolved.blobs] == [b.size for b in image.blobs]
    assert resolved.media_type == manifest_type
    if manifest_type == OCI_MANIFEST:  # skopeo rewrites a manifest it converts
        assert resolved.manifest_digest == image.manifest.digest
    assert resolved.platform == (parse_platform(image_platform) if image_platform else None)
    assert (resolved.index_digest is not None) == (image_platform is not None)
    for blob in resolved.blobs:  # the port and every slash survive, and the digest is the task
        assert blob.url == f"{registry.url}/v2/{repository}/blobs/{blob.digest}"
        assert task_id(blob.url) == blob.digest.split(":", 1)[1]
    assert resolved.headers_for_blobs == {}
    await assert_blobs_fetchable(resolved)


async def test_a_digest_reference_resolves_to_the_same_image(
    client: RegistryClient, registry: Registry, registry_images: RegistryImages
) -> None:
    digest = registry_images.multi.images["linux/arm64"].manifest.digest
    resolved = await client.resolve_image(f"{registry.url}/v2/test/multi/manifests/{digest}")

    assert resolved.manifest_digest == digest
    assert resolved.platform is None  # a single manifest: the platform is not consulted
    assert {blob.digest for blob in resolved.blobs} == registry_images.multi.images[
        "linux/arm64"
    ].digests


async def test_caller_headers_reach_the_registry_and_the_blobs(
    client: RegistryClient, registry: Registry
) -> None:
    url = f"{registry.url}/v2/test/img/manifests/{TAG}"
    resolved = await client.resolve_image(url, headers={"X-Trace": "preheat-1"})

    assert resolved.headers_for_blobs == {"X-Trace": "preheat-1"}


async def test_an_unknown_platform_names_the_ones_the_index_has(
    client: RegistryClient, registry: Registry
) -> None:
    url = f"{registry.url}/v2/test/multi/manifests/{TAG}"
    with pytest.raises(NoMatchingPlatform) as caught:
        await client.resolve_image(url, platform="linux/s390x")

    assert caught.value.available == ("linux/amd64", "linux/arm64")
    assert "linux/s390x" in str(caught.value) and "linux/arm64" in str(caught.value)


@pytest.mark.parametrize(
    "path",
    [
        "test/img/manifests/v2",  # unknown tag
        "test/nothing/manifests/v1",  # unknown repository
        "test/img/manifests/sha256:" + "0" * 64,  # unknown digest
    ],
)
async def test_what_the_registry_lacks_is_manifest_unknown(
    client: RegistryClient, registry: Registry, path: str
) -> None:
    with pytest.raises(ManifestUnknown) as caught:
        await client.resolve_image(f"{registry.url}/v2/{path}")

    assert registry.host in str(caught.value)
