"""Issue #3: containerd and skopeo pull through the daemon's registry mirror.

Each test proves the path, not just the exit status: containerd silently falls back to the
registry when a mirror fails, so every test checks which host ctr asked for each blob (its
``--debug`` trace), the ``X-Dragonfly-*`` headers it got back, the registry's own log of
blob GETs, and the daemon's metrics.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import (
    BIG_REPOSITORY,
    CREDENTIALS,
    MULTI_REPOSITORY,
    SMALL_REPOSITORY,
    TAG,
    ImageSet,
    StartMirror,
)
from tests.support import skopeo
from tests.support.containerd import (
    Containerd,
    CtrResult,
    default_mirror_hosts,
    registry_mirror_hosts,
    write_hosts_toml,
)
from tests.support.fake_registry import BlobFault, FakeRegistry
from tests.support.images import Blob, Image
from tests.support.metrics import scrape
from tests.support.processes import Process
from tests.support.registry import Registry

SOURCE_BYTES = "swarmfly_daemon_source_bytes_total"
STORE_HITS = "swarmfly_proxy_store_hits_total"
TASK_ID = "x-dragonfly-task-id"
FINISHED = "x-dragonfly-task-download-finished"
PIECE = 4 << 20  # the piece length of every blob here (Dragonfly's rule: at least 4 MiB)


def proxy_host(daemon: Process) -> str:
    return f"127.0.0.1:{daemon.port('proxy_port')}"


def proxy_url(daemon: Process) -> str:
    return f"http://{proxy_host(daemon)}"


def metrics_url(daemon: Process) -> str:
    return f"http://127.0.0.1:{daemon.port('control_port')}/metrics"


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def assert_blobs_through_mirror(
    result: CtrResult, mirror: str, blobs: tuple[Blob, ...], statuses: tuple[int, ...] = (200,)
) -> None:
    """ctr asked only the mirror for every blob, never fell back, and got task headers."""
    result.check()
    assert not result.fallbacks(), "containerd fell back from the mirror:\n" + "\n".join(
        result.fallbacks()
    )
    hosts = result.blob_hosts()
    assert {b.digest: {mirror} for b in blobs} == {b.digest: hosts.get(b.digest) for b in blobs}
    answered = {r.digest: r for r in result.responses() if r.is_blob and r.host == mirror}
    for blob in blobs:
        response = answered[blob.digest]
        assert response.status in statuses, (blob.digest, response)
        assert response.headers.get(TASK_ID) == blob.hex, (blob.digest, response.headers)


async def assert_committed_and_intact(
    containerd: Containerd, image: Image, namespace: str = "default"
) -> None:
    stored = await containerd.content_digests(namespace)
    assert image.digests <= stored
    for blob in image.layers:
        assert sha256_file(containerd.blob_file(blob.digest)) == blob.digest


def assert_no_wrong_blob_committed(containerd: Containerd) -> None:
    """Every blob file containerd committed holds the bytes its name promises.

    containerd verifies before it commits; check the files anyway. A file may vanish while
    this runs (containerd's GC drops what a failed pull left unreferenced): that is fine.
    """
    for path in containerd.blob_files():
        try:
            digest = sha256_file(path)
        except FileNotFoundError:
            continue
        assert digest == f"sha256:{path.name}", path


@pytest.mark.parametrize("style", ["_default", "per-registry"])
async def test_containerd_fetches_through_the_mirror_then_from_the_store(
    style: str,
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    image = images.small
    daemon = await start_mirror(registry)
    if style == "_default":
        default_mirror_hosts(hosts_dir, proxy_url(daemon))
    else:
        registry_mirror_hosts(hosts_dir, registry.host, proxy_url(daemon))
    reference = registry.reference(SMALL_REPOSITORY, TAG)

    first = await containerd.fetch(reference, hosts_dir=hosts_dir)
    assert_blobs_through_mirror(first, proxy_host(daemon), image.blobs)
    await assert_committed_and_intact(containerd, image)
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in image.blobs}
    assert (await scrape(metrics_url(daemon)))[SOURCE_BYTES] >= sum(b.size for b in image.blobs)

    await containerd.forget()
    mark = registry.mark()
    before = await scrape(metrics_url(daemon))
    second = await containerd.fetch(reference, hosts_dir=hosts_dir)
    assert_blobs_through_mirror(second, proxy_host(daemon), image.blobs)
    await assert_committed_and_intact(containerd, image)
    await registry.barrier()
    assert registry.blob_gets(since=mark) == []
    for response in second.responses():
        if response.is_blob:
            assert response.headers.get(FINISHED) == "true", response
    after = await scrape(metrics_url(daemon))
    assert after[STORE_HITS] - before[STORE_HITS] == len(image.blobs)
    assert after[SOURCE_BYTES] == before[SOURCE_BYTES]


async def test_a_registry_alias_reaches_the_registry_named_by_the_header(
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    """The image is named by an alias that resolves nowhere, so ``?ns=`` is useless and only
    ``X-Dragonfly-Registry`` (which wins over ``?ns=``) leads to the registry."""
    alias = "registry.alias.invalid:5000"
    daemon = await start_mirror("http://127.0.0.1:9")  # nor is registryMirror.addr any help
    write_hosts_toml(
        hosts_dir,
        alias,
        mirror=proxy_url(daemon),
        server=registry.url,
        header={"X-Dragonfly-Registry": [registry.url]},
    )
    result = await containerd.fetch(f"{alias}/{SMALL_REPOSITORY}:{TAG}", hosts_dir=hosts_dir)
    assert_blobs_through_mirror(result, proxy_host(daemon), images.small.blobs)
    assert {r.ns for r in result.requests() if r.host == proxy_host(daemon)} == {alias}
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in images.small.blobs}


async def test_containerd_pulls_and_unpacks_a_256_mib_layer_through_the_mirror(
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    daemon = await start_mirror(registry)
    registry_mirror_hosts(hosts_dir, registry.host, proxy_url(daemon))
    result = await containerd.pull(registry.reference(BIG_REPOSITORY, TAG), hosts_dir=hosts_dir)
    assert_blobs_through_mirror(result, proxy_host(daemon), images.big.blobs)
    await assert_committed_and_intact(containerd, images.big)
    await registry.barrier()
    assert registry.blob_get_counts() == {b.digest: 1 for b in images.big.blobs}


async def test_one_platform_of_an_index_through_the_mirror(
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    arm64 = images.multi.images["linux/arm64"]
    amd64 = images.multi.images["linux/amd64"]
    daemon = await start_mirror(registry)
    default_mirror_hosts(hosts_dir, proxy_url(daemon))
    result = await containerd.fetch(
        registry.reference(MULTI_REPOSITORY, TAG), hosts_dir=hosts_dir, platform="linux/arm64"
    )
    assert_blobs_through_mirror(result, proxy_host(daemon), arm64.blobs)
    await assert_committed_and_intact(containerd, arm64)
    await registry.barrier()
    assert amd64.config.digest not in registry.blob_get_counts()


async def test_skopeo_pulls_through_the_mirror_without_ns(
    registry: Registry, start_mirror: StartMirror, images: ImageSet, tmp_path: Path
) -> None:
    """containers/image sends no ?ns=: the daemon's ``registryMirror.addr`` names the upstream."""
    image = images.small
    daemon = await start_mirror(registry)
    conf = skopeo.write_registries_conf(
        tmp_path / "registries.conf", registry.host, proxy_host(daemon)
    )
    reference = registry.reference(SMALL_REPOSITORY, TAG)

    for attempt in ("cold", "warm"):
        mark = registry.mark()
        before = await scrape(metrics_url(daemon))
        destination = tmp_path / f"pulled-{attempt}"
        (await skopeo.copy_to_layout(reference, destination, registries_conf=conf)).check()
        for blob in image.blobs:
            assert sha256_file(destination / "blobs" / "sha256" / blob.hex) == blob.digest
        await registry.barrier()
        after = await scrape(metrics_url(daemon))
        source_bytes = after[SOURCE_BYTES] - before[SOURCE_BYTES]
        if attempt == "cold":
            assert registry.blob_get_counts(since=mark) == {b.digest: 1 for b in image.blobs}
            assert source_bytes >= sum(b.size for b in image.blobs)
        else:
            assert registry.blob_gets(since=mark) == []
            assert source_bytes == 0


async def test_private_registry_through_the_mirror_refuses_anonymous_store_hits(
    auth_registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    image = images.small
    daemon = await start_mirror(auth_registry)
    registry_mirror_hosts(hosts_dir, auth_registry.host, proxy_url(daemon))
    reference = auth_registry.reference(SMALL_REPOSITORY, TAG)
    result = await containerd.fetch(reference, hosts_dir=hosts_dir, credentials=CREDENTIALS)
    assert_blobs_through_mirror(result, proxy_host(daemon), image.blobs)
    await auth_registry.barrier()
    assert auth_registry.blob_get_counts() == {b.digest: 1 for b in image.blobs}

    layer = image.layers[0]  # now in the daemon's store
    url = f"{proxy_url(daemon)}/v2/{SMALL_REPOSITORY}/blobs/{layer.digest}"
    params = {"ns": auth_registry.host}
    async with aiohttp.ClientSession() as session:
        for authorization in (None, "Basic " + "bm9ib2R5OndpdGhvdXQ="):  # nobody:without
            headers = {"Authorization": authorization} if authorization else {}
            async with session.get(url, params=params, headers=headers) as response:
                body = await response.read()
                assert response.status == 401, (authorization, response.status, body[:200])
                assert "WWW-Authenticate" in response.headers
                assert len(body) < layer.size
        headers = {"Authorization": CREDENTIALS.basic}
        async with session.get(url, params=params, headers=headers) as response:
            assert response.status == 200
            assert response.headers.get(FINISHED) == "true"
            assert hashlib.sha256(await response.read()).hexdigest() == layer.hex
    await auth_registry.barrier()
    sent = sum(r.written for r in auth_registry.blob_gets(layer.digest))
    assert sent == layer.size, "the store, not the registry, served the second read"


async def get_through_proxy(daemon: Process, registry_host: str, blob: Blob) -> tuple[int, str]:
    """A plain client's view of a blob through the proxy: (status, sha256 or why it failed)."""
    url = f"{proxy_url(daemon)}/v2/{SMALL_REPOSITORY}/blobs/{blob.digest}"
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(url, params={"ns": registry_host}) as response:
                hasher = hashlib.sha256()
                async for chunk in response.content.iter_chunked(1 << 20):
                    hasher.update(chunk)
                return response.status, f"sha256:{hasher.hexdigest()}"
        except aiohttp.ClientPayloadError as exc:
            return -1, f"cut: {exc}"


async def task_state(daemon: Process, blob: Blob) -> str | None:
    url = f"http://127.0.0.1:{daemon.port('control_port')}/api/v1/tasks/{blob.hex}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if response.status == 404:
            return None
        state: str = (await response.json())["state"]
        return state


@pytest.mark.parametrize(
    "fault",
    [BlobFault(corrupt=True), BlobFault(truncate_at=40 << 20)],
    ids=["wrong-digest", "truncated"],
)
async def test_a_bad_upstream_body_is_never_completed(
    fault: BlobFault,
    fake_registry: FakeRegistry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    layer = images.small.layers[1]  # 64 MiB: the daemon streams it before it can check it
    fake_registry.faults[layer.digest] = fault
    daemon = await start_mirror(fake_registry.url)
    registry_mirror_hosts(hosts_dir, fake_registry.host, proxy_url(daemon))

    result = await containerd.fetch(
        fake_registry.reference(SMALL_REPOSITORY, TAG), hosts_dir=hosts_dir
    )
    assert not result.ok
    assert layer.digest not in await containerd.content_digests()
    assert_no_wrong_blob_committed(containerd)
    assert fake_registry.blob_gets(layer.digest), "the fault was never exercised"

    status, outcome = await get_through_proxy(daemon, fake_registry.host, layer)
    assert status != 200 or outcome == layer.digest, "a later reader got the bad bytes whole"
    assert await task_state(daemon, layer) != "succeeded"


async def test_a_body_cut_once_is_resumed_by_the_daemon(
    fake_registry: FakeRegistry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    layer = images.small.layers[1]
    fake_registry.faults[layer.digest] = BlobFault(truncate_at=40 << 20, times=1)
    daemon = await start_mirror(fake_registry.url)
    registry_mirror_hosts(hosts_dir, fake_registry.host, proxy_url(daemon))
    result = await containerd.fetch(
        fake_registry.reference(SMALL_REPOSITORY, TAG), hosts_dir=hosts_dir
    )
    assert_blobs_through_mirror(result, proxy_host(daemon), images.small.blobs)
    await assert_committed_and_intact(containerd, images.small)
    assert sum(r.sent for r in fake_registry.blob_gets(layer.digest)) < 2 * layer.size


async def wait_for_pieces(daemon: Process, blob: Blob, more_than: int = 0) -> int:
    """Long-poll the daemon's piece server until the blob's task has more pieces."""
    url = f"http://127.0.0.1:{daemon.port('upload_port')}/tasks/{blob.hex}/pieces"
    async with aiohttp.ClientSession() as session, asyncio.timeout(60):
        while True:
            params = {"known": str(more_than), "wait": "20s"}
            async with session.get(url, params=params) as response:
                if response.status == 200:
                    count = len((await response.json())["pieces"])
                    if count > more_than:
                        return count


async def test_registry_killed_mid_blob_then_the_pull_completes_intact(
    registry: Registry,
    containerd: Containerd,
    start_mirror: StartMirror,
    hosts_dir: Path,
    images: ImageSet,
) -> None:
    """The registry dies while the daemon streams a layer; after it returns, the pull completes.

    containerd keeps the part it got as an ingest and may resume it with ``Range`` (or its GC
    may have dropped it first): either way no wrong byte is ever committed, the daemon fetches
    only the pieces it was missing, and the blob lands in its store.
    """
    image = images.small
    layer = image.layers[1]  # 64 MiB: 16 pieces of 4 MiB, one at a time, 1/16 s each
    daemon = await start_mirror(registry, download={"rateLimit": "64Mi", "concurrentPieceCount": 1})
    registry_mirror_hosts(hosts_dir, registry.host, proxy_url(daemon))
    reference = registry.reference(SMALL_REPOSITORY, TAG)

    pending = asyncio.ensure_future(containerd.fetch(reference, hosts_dir=hosts_dir))
    landed = await wait_for_pieces(daemon, layer)
    await registry.kill()
    result = await pending
    assert landed < layer.size // PIECE, "the kill must land mid-blob"
    assert not result.ok
    assert layer.digest not in await containerd.content_digests()
    assert_no_wrong_blob_committed(containerd)

    await registry.start()
    resumed = await containerd.fetch(reference, hosts_dir=hosts_dir)
    assert_blobs_through_mirror(resumed, proxy_host(daemon), (layer,), statuses=(200, 206))
    await assert_committed_and_intact(containerd, image)
    assert await task_state(daemon, layer) == "succeeded"
    await registry.barrier()
    resent = sum(r.written for r in registry.blob_gets(layer.digest))
    assert resent <= layer.size - landed * PIECE, "the daemon fetched only what it was missing"

    await containerd.forget()  # and a pull from scratch is served from the store
    containerd.abort_ingests()
    mark = registry.mark()
    again = await containerd.fetch(reference, hosts_dir=hosts_dir)
    assert_blobs_through_mirror(again, proxy_host(daemon), image.blobs)
    await assert_committed_and_intact(containerd, image)
    await registry.barrier()
    assert registry.blob_gets(since=mark) == []
