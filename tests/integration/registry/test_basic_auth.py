"""A real docker-registry with htpasswd: Basic credentials, the caller's header, refusals."""

from __future__ import annotations

import pytest

from swarmfly.registry import RegistryClient, Unauthorized
from tests.integration.registry.conftest import CREDENTIALS, TAG, RegistryImages
from tests.integration.registry.test_resolve import assert_blobs_fetchable
from tests.support.registry import Credentials, Registry


def image_url(registry: Registry, repository: str = "test/img") -> str:
    return f"{registry.url}/v2/{repository}/manifests/{TAG}"


async def test_username_and_password_answer_the_basic_challenge(
    client: RegistryClient, basic_registry: Registry, registry_images: RegistryImages
) -> None:
    resolved = await client.resolve_image(
        image_url(basic_registry, "test/multi"),
        platform="linux/arm64",
        username=CREDENTIALS.username,
        password=CREDENTIALS.password,
    )

    assert resolved.headers_for_blobs == {"Authorization": CREDENTIALS.basic}
    assert {b.digest for b in resolved.blobs} == registry_images.multi.images["linux/arm64"].digests
    assert resolved.token_expires_in is None
    await assert_blobs_fetchable(resolved)
    # Later headers come from what the registry asked for, without asking again.
    headers = await client.blob_headers(
        image_url(basic_registry, "test/multi"),
        username=CREDENTIALS.username,
        password=CREDENTIALS.password,
    )
    assert headers == resolved.headers_for_blobs
    # One challenge for the index; the platform's manifest goes straight through.
    await basic_registry.barrier()
    statuses = [r.status for r in basic_registry.requests() if "/manifests/" in r.path]
    assert statuses == [401, 200, 200]


async def test_the_callers_authorization_is_tried_first(
    client: RegistryClient, basic_registry: Registry
) -> None:
    resolved = await client.resolve_image(
        image_url(basic_registry), headers={"authorization": CREDENTIALS.basic}
    )

    assert resolved.headers_for_blobs == {"Authorization": CREDENTIALS.basic}
    await basic_registry.barrier()
    assert [r.status for r in basic_registry.requests() if "/manifests/" in r.path] == [200]


async def test_a_refused_caller_header_falls_back_to_the_credentials(
    client: RegistryClient, basic_registry: Registry
) -> None:
    stale = Credentials(CREDENTIALS.username, "old-secret").basic
    resolved = await client.resolve_image(
        image_url(basic_registry),
        headers={"Authorization": stale},
        username=CREDENTIALS.username,
        password=CREDENTIALS.password,
    )

    assert resolved.headers_for_blobs == {"Authorization": CREDENTIALS.basic}


async def test_a_wrong_password_is_unauthorized_with_the_registrys_reason(
    client: RegistryClient, basic_registry: Registry
) -> None:
    with pytest.raises(Unauthorized) as caught:
        await client.resolve_image(
            image_url(basic_registry), username=CREDENTIALS.username, password="wrong"
        )

    assert caught.value.reason == "authentication required"
    assert "refused the credentials" in str(caught.value)
    assert "wrong" not in str(caught.value)


async def test_no_credentials_is_unauthorized(
    client: RegistryClient, basic_registry: Registry
) -> None:
    with pytest.raises(Unauthorized, match=r"needs credentials \(none given\)"):
        await client.resolve_image(image_url(basic_registry))
