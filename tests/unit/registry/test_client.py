"""The client against a scripted registry: digests, size cap, statuses, indexes, faults."""

from __future__ import annotations

import pytest

from swarmfly.registry import (
    MAX_MANIFEST_SIZE,
    OCI_MANIFEST,
    Denied,
    ManifestDigestMismatch,
    ManifestTooLarge,
    ManifestUnknown,
    NoMatchingPlatform,
    RegistryClient,
    RegistryStatusError,
    RegistryTimeout,
    RegistryUnavailable,
    UnsupportedManifest,
)
from swarmfly.registry.documents import ACCEPT
from tests.support.service import free_port
from tests.unit.registry.conftest import (
    FakeRegistry,
    StartRegistry,
    digest_of,
    fake_digest,
    index_bytes,
    manifest_bytes,
    serve_bytes,
    serve_error,
)

MANIFEST = manifest_bytes(fake_digest(1), [fake_digest(2), fake_digest(3)])
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
ATTESTATION = {"os": "unknown", "architecture": "unknown"}


async def test_blobs_are_the_config_then_each_layer_once(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    repeated = manifest_bytes(fake_digest(1), [fake_digest(2), fake_digest(9), fake_digest(2)])
    fake.route("/v2/a/b/manifests/v1", serve_bytes(repeated))
    await started(fake)

    resolved = await client.resolve_image(fake.url("/v2/a/b/manifests/v1"))

    assert [blob.digest for blob in resolved.blobs] == [fake_digest(n) for n in (1, 2, 9)]
    assert [blob.size for blob in resolved.blobs] == [10, 100, 100]
    assert resolved.blobs[1].url == fake.url(f"/v2/a/b/blobs/{fake_digest(2)}")
    assert resolved.manifest_digest == digest_of(repeated)


async def test_every_manifest_type_is_accepted_and_caller_headers_are_sent(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    fake.route("/v2/a/manifests/v1", serve_bytes(MANIFEST))
    await started(fake)

    await client.resolve_image(
        fake.url("/v2/a/manifests/v1"),
        headers={"X-Tenant": "blue", "Accept": "text/html", "Host": "elsewhere"},
    )

    [seen] = fake.requests
    assert seen.headers["Accept"] == ACCEPT
    assert seen.headers["X-Tenant"] == "blue"
    assert seen.headers["Host"] == fake.base.split("://")[1]


@pytest.mark.parametrize(
    ("path", "announced"),
    [
        (f"/v2/a/manifests/{digest_of(b'other')}", "auto"),  # the reference's digest decides
        (f"/v2/a/manifests/{digest_of(b'other')}", None),
        ("/v2/a/manifests/v1", digest_of(b"other")),  # a tag: the announced digest decides
    ],
)
async def test_bytes_that_do_not_match_their_digest_are_refused(
    client: RegistryClient,
    fake: FakeRegistry,
    started: StartRegistry,
    path: str,
    announced: str | None,
) -> None:
    fake.route(path, serve_bytes(MANIFEST, announced=announced))
    await started(fake)

    with pytest.raises(ManifestDigestMismatch):
        await client.resolve_image(fake.url(path))


@pytest.mark.parametrize("announced", [None, "not-a-digest"])
async def test_without_a_usable_announced_digest_the_bytes_name_themselves(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry, announced: str | None
) -> None:
    fake.route("/v2/a/manifests/v1", serve_bytes(MANIFEST, announced=announced))
    await started(fake)

    resolved = await client.resolve_image(fake.url("/v2/a/manifests/v1"))

    assert resolved.manifest_digest == digest_of(MANIFEST)


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_manifest_over_the_cap_is_refused(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry, chunked: bool
) -> None:
    huge = MANIFEST + b" " * MAX_MANIFEST_SIZE
    fake.route("/v2/a/manifests/v1", serve_bytes(huge, announced=None, chunked=chunked))
    await started(fake)

    with pytest.raises(ManifestTooLarge):
        await client.resolve_image(fake.url("/v2/a/manifests/v1"))


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (404, "MANIFEST_UNKNOWN", ManifestUnknown),
        (404, "NAME_UNKNOWN", ManifestUnknown),
        (403, "DENIED", Denied),
        (429, "TOOMANYREQUESTS", RegistryStatusError),
        (500, "UNKNOWN", RegistryStatusError),
        (503, "UNAVAILABLE", RegistryStatusError),
    ],
)
async def test_error_statuses_become_categories_with_the_registrys_message(
    client: RegistryClient,
    fake: FakeRegistry,
    started: StartRegistry,
    status: int,
    code: str,
    error: type[Exception],
) -> None:
    fake.route("/v2/a/manifests/v1", serve_error(status, code, f"message for {code}"))
    await started(fake)

    with pytest.raises(error, match=f"message for {code}") as caught:
        await client.resolve_image(fake.url("/v2/a/manifests/v1"))
    if isinstance(caught.value, RegistryStatusError):
        assert caught.value.status == status


async def test_an_index_entry_is_fetched_by_digest_and_attestations_are_not_platforms(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    arm = manifest_bytes(fake_digest(7), [fake_digest(8)])
    index = index_bytes(
        [
            (fake_digest(5), AMD64, OCI_MANIFEST),
            (digest_of(arm), ARM64, OCI_MANIFEST),
            (fake_digest(6), ATTESTATION, OCI_MANIFEST),
        ]
    )
    fake.route("/v2/a/manifests/v1", serve_bytes(index, "application/vnd.oci.image.index.v1+json"))
    fake.route(f"/v2/a/manifests/{digest_of(arm)}", serve_bytes(arm))
    await started(fake)

    resolved = await client.resolve_image(fake.url("/v2/a/manifests/v1"), platform="linux/arm64")
    assert resolved.index_digest == digest_of(index)
    assert resolved.manifest_digest == digest_of(arm)
    assert [blob.digest for blob in resolved.blobs] == [fake_digest(7), fake_digest(8)]

    with pytest.raises(NoMatchingPlatform) as caught:
        await client.resolve_image(fake.url("/v2/a/manifests/v1"), platform="linux/ppc64le")
    assert caught.value.available == ("linux/amd64", "linux/arm64")


async def test_an_index_inside_an_index_is_unsupported(
    client: RegistryClient, fake: FakeRegistry, started: StartRegistry
) -> None:
    inner = index_bytes([(fake_digest(5), AMD64, OCI_MANIFEST)])
    outer = index_bytes([(digest_of(inner), AMD64, "application/vnd.oci.image.index.v1+json")])
    fake.route("/v2/a/manifests/v1", serve_bytes(outer))
    fake.route(f"/v2/a/manifests/{digest_of(inner)}", serve_bytes(inner))
    await started(fake)

    with pytest.raises(UnsupportedManifest):
        await client.resolve_image(fake.url("/v2/a/manifests/v1"))


async def test_a_registry_nobody_listens_on_is_unavailable(client: RegistryClient) -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/a/manifests/v1"
    with pytest.raises(RegistryUnavailable, match="cannot connect"):
        await client.resolve_image(url)


async def test_a_registry_that_never_answers_times_out(
    fake: FakeRegistry, started: StartRegistry
) -> None:
    fake.route("/v2/a/manifests/v1", fake.stall)
    await started(fake)

    async with RegistryClient.open(request_timeout=0.2) as client:
        with pytest.raises(RegistryTimeout):
            await client.resolve_image(fake.url("/v2/a/manifests/v1"))
