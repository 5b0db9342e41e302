"""The harness itself, with no Swarmfly in the path: a real registry, containerd and skopeo.

These prove what the Swarmfly tests rely on: images built here push and pull intact, the
registry's log counts every blob GET, auth refuses and accepts as it should, hosts.toml in
both styles routes containerd where we say (``?ns=`` included), and a silent fallback from a
dead mirror to the registry is caught.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import (
    CREDENTIALS,
    MULTI_REPOSITORY,
    SMALL_REPOSITORY,
    TAG,
    ImageSet,
    StartRegistry,
)
from tests.support import skopeo
from tests.support.containerd import (
    Containerd,
    default_mirror_hosts,
    registry_mirror_hosts,
)
from tests.support.fake_registry import BlobFault, running_fake_registry
from tests.support.registry import Registry
from tests.support.service import free_port


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


async def test_containerd_fetches_every_blob_once_from_the_registry(
    registry: Registry, containerd: Containerd, images: ImageSet
) -> None:
    image = images.small
    result = await containerd.fetch(
        registry.reference(SMALL_REPOSITORY, TAG), hosts_dir=None, namespace="direct"
    )
    result.check()

    await registry.barrier()
    assert registry.blob_get_counts() == {blob.digest: 1 for blob in image.blobs}
    assert {r.host for r in result.requests()} == {registry.host}
    stored = await containerd.content_digests("direct")
    assert stored == image.digests | {image.manifest.digest}
    for blob in image.layers:
        assert sha256_file(containerd.blob_file(blob.digest)) == blob.digest


async def test_forgetting_an_image_makes_the_next_fetch_download_again(
    registry: Registry, containerd: Containerd, images: ImageSet
) -> None:
    reference = registry.reference(SMALL_REPOSITORY, TAG)
    (await containerd.fetch(reference, hosts_dir=None)).check()
    await containerd.forget()
    mark = registry.mark()
    (await containerd.fetch(reference, hosts_dir=None)).check()

    await registry.barrier()
    assert registry.blob_get_counts(since=mark) == {b.digest: 1 for b in images.small.blobs}


async def test_one_platform_of_the_index_is_fetched_and_inspected(
    registry: Registry, containerd: Containerd, images: ImageSet
) -> None:
    arm64 = images.multi.images["linux/arm64"]
    amd64 = images.multi.images["linux/amd64"]
    reference = registry.reference(MULTI_REPOSITORY, TAG)
    (await containerd.fetch(reference, hosts_dir=None, platform="linux/arm64")).check()

    stored = await containerd.content_digests()
    assert arm64.digests | {arm64.manifest.digest, images.multi.index.digest} <= stored
    assert amd64.config.digest not in stored and amd64.layers[-1].digest not in stored

    inspected = await skopeo.inspect(reference, arch="arm64")
    assert inspected["Architecture"] == "arm64"
    assert inspected["Layers"] == [layer.digest for layer in arm64.layers]
    raw = await skopeo.inspect(reference, raw=True)
    platforms = {m["platform"]["architecture"]: m["digest"] for m in raw["manifests"]}
    assert platforms == {"amd64": amd64.manifest.digest, "arm64": arm64.manifest.digest}


async def test_htpasswd_registry_refuses_anonymous_pulls_and_accepts_credentials(
    auth_registry: Registry, containerd: Containerd, images: ImageSet
) -> None:
    reference = auth_registry.reference(SMALL_REPOSITORY, TAG)
    anonymous = await containerd.fetch(reference, hosts_dir=None, namespace="anonymous")
    assert not anonymous.ok
    assert "401" in anonymous.describe()
    assert not await containerd.content_digests("anonymous")

    (
        await containerd.fetch(reference, hosts_dir=None, namespace="user", credentials=CREDENTIALS)
    ).check()
    await auth_registry.barrier()
    assert auth_registry.blob_get_counts() == {b.digest: 1 for b in images.small.blobs}
    assert any(r.status == 401 for r in auth_registry.requests())


def write_default_style(hosts_dir: Path, upstream: Registry, mirror: Registry) -> Path:
    return default_mirror_hosts(hosts_dir, mirror.url)


def write_registry_style(hosts_dir: Path, upstream: Registry, mirror: Registry) -> Path:
    return registry_mirror_hosts(hosts_dir, upstream.host, mirror.url)


@pytest.mark.parametrize("write_hosts", [write_default_style, write_registry_style])
async def test_hosts_toml_sends_containerd_to_the_mirror_with_ns(
    start_test_registry: StartRegistry,
    containerd: Containerd,
    images: ImageSet,
    hosts_dir: Path,
    write_hosts: Callable[[Path, Registry, Registry], Path],
) -> None:
    """A second registry stands in for the mirror: it ignores ``?ns=`` and logs it."""
    upstream = await start_test_registry("upstream")
    mirror = await start_test_registry("mirror")
    write_hosts(hosts_dir, upstream, mirror)
    result = await containerd.fetch(upstream.reference(SMALL_REPOSITORY, TAG), hosts_dir=hosts_dir)
    result.check()

    await mirror.barrier()
    assert mirror.blob_get_counts() == {b.digest: 1 for b in images.small.blobs}
    assert {r.host for r in result.requests()} == {mirror.host}
    assert {r.ns for r in result.requests()} == {upstream.host}
    ns = f"ns={quote(upstream.host, safe='')}"
    assert all(ns in r.uri for r in mirror.blob_gets())
    await upstream.barrier()
    assert not upstream.blob_gets()


async def test_a_dead_mirror_is_caught_falling_back_to_the_registry(
    registry: Registry, containerd: Containerd, hosts_dir: Path, images: ImageSet
) -> None:
    """containerd exits 0 after a silent fallback; the harness must see through that."""
    dead = f"http://127.0.0.1:{free_port()}"
    registry_mirror_hosts(hosts_dir, registry.host, dead)
    result = await containerd.fetch(registry.reference(SMALL_REPOSITORY, TAG), hosts_dir=hosts_dir)
    result.check()
    assert result.fallbacks()
    hosts = result.blob_hosts()
    assert all(registry.host in hosts[b.digest] for b in images.small.blobs)
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in images.small.blobs}


@pytest.mark.parametrize(
    "fault",
    [BlobFault(corrupt=True), BlobFault(truncate_at=40 << 20)],
    ids=["wrong-digest", "truncated"],
)
async def test_the_fake_registry_serves_faults_that_containerd_rejects(
    fault: BlobFault, containerd: Containerd, images: ImageSet
) -> None:
    layer = images.small.layers[1]
    async with running_fake_registry(images.layout) as fake:
        fake.publish(SMALL_REPOSITORY, TAG, images.small)
        reference = fake.reference(SMALL_REPOSITORY, TAG)
        fake.faults[layer.digest] = fault
        failed = await containerd.fetch(reference, hosts_dir=None)
        assert not failed.ok
        assert layer.digest not in await containerd.content_digests()
        assert fake.blob_gets(layer.digest)

        fake.faults.clear()
        containerd.abort_ingests()
        (await containerd.fetch(reference, hosts_dir=None)).check()
    assert sha256_file(containerd.blob_file(layer.digest)) == layer.digest
