"""A real docker-registry with token auth (``auth: token:``) and a token server in the test.

The registry checks each JWT's signature, issuer, audience, expiry and granted actions; the
token server records what it was asked. The client's clock is fake, so a token's expiry is a
call to ``clock.advance``, and a token the registry stops accepting is a key rotation (new
signer, new certificate bundle, registry restarted on the same port).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmfly.registry import Denied, RegistryClient, Unauthorized
from tests.integration.registry.conftest import CREDENTIALS, TAG, FakeClock
from tests.integration.registry.test_resolve import assert_blobs_fetchable
from tests.support.registry import Registry
from tests.support.token_server import SERVICE, SigningKey, TokenServer


def image_url(registry: Registry, repository: str = "test/img") -> str:
    return f"{registry.url}/v2/{repository}/manifests/{TAG}"


@pytest.mark.parametrize("token_field", ["token", "access_token"])
async def test_an_anonymous_token_for_pulling_the_repository(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry, token_field: str
) -> None:
    token_server.token_field = token_field
    resolved = await client.resolve_image(image_url(token_registry, "test/deep/nested/img"))

    [asked] = token_server.requests
    assert (asked.service, asked.scope, asked.user) == (
        SERVICE,
        "repository:test/deep/nested/img:pull",
        None,
    )
    assert resolved.headers_for_blobs["Authorization"].startswith("Bearer ")
    assert resolved.token_expires_in == 300
    await assert_blobs_fetchable(resolved)


async def test_credentials_go_to_the_token_server_and_one_token_serves_an_index(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry
) -> None:
    token_server.anonymous = False
    token_server.users = {CREDENTIALS.username: CREDENTIALS.password}
    resolved = await client.resolve_image(
        image_url(token_registry, "test/docker-multi"),
        platform="linux/arm64",
        username=CREDENTIALS.username,
        password=CREDENTIALS.password,
    )

    assert [(r.user, r.account, r.status) for r in token_server.requests] == [
        (CREDENTIALS.username, CREDENTIALS.username, 200)
    ]
    await assert_blobs_fetchable(resolved)


async def test_a_token_server_refusing_the_password_is_unauthorized(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry
) -> None:
    token_server.anonymous = False
    token_server.users = {CREDENTIALS.username: CREDENTIALS.password}
    with pytest.raises(Unauthorized) as caught:
        await client.resolve_image(
            image_url(token_registry), username=CREDENTIALS.username, password="wrong"
        )

    assert caught.value.reason == "incorrect username or password"
    assert "wrong" not in str(caught.value)


async def test_a_token_without_pull_on_the_repository_is_denied(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry
) -> None:
    token_server.denied = {"test/img"}
    with pytest.raises(Denied):
        await client.resolve_image(image_url(token_registry))


async def test_a_token_is_reused_until_it_expires_then_renewed(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry, clock: FakeClock
) -> None:
    token_server.expires_in = 60
    url = image_url(token_registry)
    first = await client.resolve_image(url)
    again = await client.resolve_image(url)
    assert token_server.issued == 1
    assert again.headers_for_blobs == first.headers_for_blobs

    clock.advance(51)  # within the renewal margin (10 s): a seed peer must get time to use it
    headers = await client.blob_headers(url)
    assert token_server.issued == 2
    assert headers != first.headers_for_blobs

    clock.advance(61)
    renewed = await client.resolve_image(url)
    assert token_server.issued == 3
    await assert_blobs_fetchable(renewed)
    # The renewed token went out up front: after the first anonymous try, no more 401s.
    await token_registry.barrier()
    statuses = [r.status for r in token_registry.requests() if "/manifests/" in r.path]
    assert statuses == [401, 200, 200, 200]


async def test_a_token_the_registry_stops_accepting_is_renewed(
    client: RegistryClient,
    token_server: TokenServer,
    token_registry: Registry,
    signing_keys: tuple[SigningKey, SigningKey],
    tmp_path: Path,
) -> None:
    url = image_url(token_registry)
    await client.resolve_image(url)
    assert token_registry.token is not None
    token_server.signer = signing_keys[1]  # rotate the key: the cached token is now refused
    token_server.trust(token_registry.token.rootcertbundle)
    await token_registry.stop()
    await token_registry.start()

    resolved = await client.resolve_image(url)

    assert token_server.issued == 2
    await assert_blobs_fetchable(resolved)


async def test_blob_headers_renew_on_request(
    client: RegistryClient, token_server: TokenServer, token_registry: Registry
) -> None:
    url = image_url(token_registry)
    resolved = await client.resolve_image(url)
    assert await client.blob_headers(url) == resolved.headers_for_blobs
    assert token_server.issued == 1

    renewed = await client.blob_headers(url, renew=True)

    assert token_server.issued == 2
    assert renewed["Authorization"] != resolved.headers_for_blobs["Authorization"]
