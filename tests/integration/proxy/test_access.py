"""No leaks between tenants: stored blobs go only to clients the registry would serve."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.integration.proxy.conftest import StartProxy
from tests.integration.proxy.registry_double import RegistryDouble

MIB = 1 << 20
PRIVATE = "team-a/secret"
PUBLIC = "library/base"
TEAM_A = "Basic dGVhbS1hOnBhc3M="
TEAM_B = "Basic dGVhbS1iOnBhc3M="


async def test_a_private_blob_in_the_store_is_not_served_to_others(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(PRIVATE, 6 * MIB)
    registry.private.add(PRIVATE)
    registry.accepted.add(TEAM_A)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{PRIVATE}/blobs/{blob.digest}")
    async with client.get(url, headers={"Authorization": TEAM_A}) as response:
        assert response.status == 200
        assert await response.read() == blob.data()

    for credentials in ({}, {"Authorization": TEAM_B}):
        async with client.get(url, headers=credentials) as response:
            assert response.status == 401, credentials
            assert response.headers["WWW-Authenticate"] == 'Basic realm="double"'
            assert len(await response.read()) < 1000, "the registry's error, not the bytes"
    async with client.head(url) as response:
        assert response.status == 401
    assert registry.blob_gets(blob) == 3, "the cold pull and the two refused GETs, relayed"
    assert await proxy.metric('swarmfly_proxy_access_checks_total{result="denied"}') == 3

    # The owner gets it from the store; its yes is remembered for the TTL.
    for _ in range(3):
        async with client.get(url, headers={"Authorization": TEAM_A}) as response:
            assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
            assert await response.read() == blob.data()
    assert registry.blob_gets(blob) == 3
    heads = registry.seen("HEAD", "/blobs/")
    assert [h.header("Authorization") for h in heads].count([TEAM_A]) == 1
    assert await proxy.metric('swarmfly_proxy_access_checks_total{result="cached"}') == 2


async def test_a_digest_is_granted_only_through_a_repository_that_holds_it(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(PRIVATE, 2 * MIB)
    registry.private.add(PRIVATE)
    registry.accepted.add(TEAM_A)
    registry.add_blob(PUBLIC, 1000)  # a public repository, without that blob
    proxy = await start_proxy()
    async with client.get(
        proxy.mirror(f"/v2/{PRIVATE}/blobs/{blob.digest}"), headers={"Authorization": TEAM_A}
    ) as response:
        await response.read()
    async with client.get(proxy.mirror(f"/v2/{PUBLIC}/blobs/{blob.digest}")) as response:
        assert response.status == 404, "same digest, a public repository that does not hold it"
        assert response.headers["X-Dragonfly-Error-Type"] == "backend"


async def test_public_blobs_need_one_check_per_ttl(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(PUBLIC, 2 * MIB)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{PUBLIC}/blobs/{blob.digest}")
    async with client.get(url) as response:
        await response.read()
    for headers in ({}, {"Authorization": TEAM_A}, {}, {"Authorization": TEAM_B}):
        async with client.get(url, headers=headers) as response:
            assert response.status == 200
            assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
            await response.read()
    assert len(registry.seen("HEAD", "/blobs/")) == 1, "anonymous yes: public for everybody"


async def test_a_client_joining_a_download_it_may_not_have_gets_the_registrys_answer(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(PRIVATE, 8 * MIB)
    registry.private.add(PRIVATE)
    registry.accepted.add(TEAM_A)
    gate = registry.gate(blob, after=MIB)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{PRIVATE}/blobs/{blob.digest}")
    async with client.get(url, headers={"Authorization": TEAM_A}) as owner:
        await gate.reached.wait()
        async with client.get(url) as intruder:  # anonymous, while the download runs
            assert intruder.status == 401
        gate.open.set()
        assert await owner.read() == blob.data()


async def test_an_anonymous_download_that_fails_does_not_fail_an_authorised_joiner(
    start_proxy: StartProxy, registry: RegistryDouble
) -> None:
    blob = registry.add_blob(PRIVATE, 3 * MIB)
    registry.private.add(PRIVATE)
    registry.accepted.add(TEAM_A)
    proxy = await start_proxy()
    url = proxy.mirror(f"/v2/{PRIVATE}/blobs/{blob.digest}")
    async with aiohttp.ClientSession() as anonymous, aiohttp.ClientSession() as owner:
        first, second = await asyncio.gather(
            anonymous.get(url), owner.get(url, headers={"Authorization": TEAM_A})
        )
        assert first.status == 401
        assert second.status == 200
        assert await second.read() == blob.data()
