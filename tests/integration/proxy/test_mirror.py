"""The proxy as a registry mirror (origin-form requests), against a registry double.

Inputs trip known bug classes: repositories with slashes, ``?ns=`` URL-encoded with a port,
six ``Accept`` lines, hop-by-hop headers the client names in ``Connection``.
"""

from __future__ import annotations

import hashlib
import json

import aiohttp
from yarl import URL

from tests.integration.proxy.conftest import StartProxy
from tests.integration.proxy.registry_double import DOCKER_MANIFEST, OCI_MANIFEST, RegistryDouble

MIB = 1 << 20
REPO = "library/team/app"  # slashes on purpose

#: What skopeo 1.9 sends: one Accept line per media type (REPORT.md, gotcha 4).
SKOPEO_ACCEPTS = [
    OCI_MANIFEST,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    DOCKER_MANIFEST,
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
]


async def test_cold_then_warm_blob_through_ns(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 9 * MIB + 7)
    proxy = await start_proxy(proxy={"registryMirror": {"addr": "http://127.0.0.1:9"}})
    url = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")

    async with client.get(url) as response:
        assert response.status == 200
        body = await response.read()
        cold = response.headers
    assert body == blob.data()
    assert cold["X-Dragonfly-Task-ID"] == blob.hex, "blob-digest task ID"
    assert cold["Docker-Content-Digest"] == blob.digest
    assert "X-Dragonfly-Task-Download-Finished" not in cold
    gets = registry.seen("GET", "/blobs/")
    assert len(gets) == 1
    assert gets[0].path == f"/v2/{REPO}/blobs/{blob.digest}"
    assert gets[0].query == "", "ns is the mirror's parameter, not the registry's"
    assert gets[0].header("Host") == [registry.host]

    async with client.get(url) as response:
        assert response.status == 200
        assert await response.read() == blob.data()
        assert response.headers["X-Dragonfly-Task-Download-Finished"] == "true"
        assert int(response.headers["Content-Length"]) == blob.size
    assert registry.blob_gets(blob) == 1, "the warm pull comes from the store"
    assert await proxy.metric('swarmfly_proxy_requests_total{mode="mirror",outcome="store_hit"}')
    assert await proxy.metric("swarmfly_proxy_store_hits_total") == 1
    assert await proxy.metric('swarmfly_proxy_bytes_total{origin="store"}') == 2 * blob.size


async def test_upstream_is_header_then_ns_then_addr(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 1000)
    proxy = await start_proxy()  # registryMirror.addr is the double
    path = f"/v2/{REPO}/blobs/{blob.digest}"
    nowhere = {"X-Dragonfly-Use-P2P": "false"}

    # addr: no header, no ns.
    async with client.head(proxy.mirror(path, ns=None), headers=nowhere) as response:
        assert response.status == 200
    # ns beats addr: an ns that leads nowhere fails, proving it was used.
    async with client.head(proxy.mirror(path, ns="127.0.0.1:9")) as response:
        assert response.status >= 500
        assert response.headers["X-Dragonfly-Error-Type"] == "proxy"
    # the header beats ns.
    headers = {"X-Dragonfly-Registry": registry.url}
    async with client.head(proxy.mirror(path, ns="127.0.0.1:9"), headers=headers) as response:
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == 1000
    heads = registry.seen("HEAD", "/blobs/")
    assert len(heads) == 2
    assert all(not r.header(name) for r in heads for name in headers)


async def test_v2_probe_and_manifests_pass_through_with_every_accept_line(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode()
    registry.add_manifest(REPO, "v1", OCI_MANIFEST, manifest)
    proxy = await start_proxy()
    accepts = [("Accept", media_type) for media_type in reversed(SKOPEO_ACCEPTS)]

    async with client.get(proxy.mirror("/v2/", ns=None)) as response:
        assert response.status == 200
    async with client.head(proxy.mirror(f"/v2/{REPO}/manifests/v1"), headers=accepts) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == OCI_MANIFEST
        assert int(response.headers["Content-Length"]) == len(manifest)
        assert "X-Dragonfly-Task-ID" not in response.headers, "manifests never touch the store"
    async with client.get(proxy.mirror(f"/v2/{REPO}/manifests/v1"), headers=accepts) as response:
        assert response.status == 200
        assert await response.read() == manifest
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        assert response.headers["Docker-Content-Digest"] == digest

    for seen in registry.seen("GET", "/manifests/") + registry.seen("HEAD", "/manifests/"):
        assert seen.header("Accept") == [value for _, value in accepts], "six lines, in order"
    assert [r.path for r in registry.requests if r.path == "/v2/"] == ["/v2/"]


async def test_hop_by_hop_headers_stop_at_the_proxy_and_authorization_goes_on(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    registry.add_manifest(REPO, "v1", DOCKER_MANIFEST, b"{}")
    proxy = await start_proxy()
    headers = [
        ("Accept", DOCKER_MANIFEST),
        ("Authorization", "Bearer tenant-token"),
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("X-Secret-Hop", "drop me"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic cHJveHk6cHJveHk="),
        ("TE", "trailers"),
        ("X-Dragonfly-Tag", "not for the registry"),
        ("User-Agent", "containerd/1.6.20~ds1"),
        ("X-Long-Token", "t" * 20_000),  # long bearer tokens exist: more than 8 KiB passes
    ]
    async with client.get(proxy.mirror(f"/v2/{REPO}/manifests/v1"), headers=headers) as response:
        assert response.status == 200
    seen = registry.seen("GET", "/manifests/")[0]
    names = {name.lower() for name, _ in seen.headers}
    for dropped in ("x-secret-hop", "keep-alive", "proxy-authorization", "te", "x-dragonfly-tag"):
        assert dropped not in names, dropped
    assert seen.header("Authorization") == ["Bearer tenant-token"]
    assert seen.header("User-Agent") == ["containerd/1.6.20~ds1"]
    assert seen.header("X-Long-Token") == ["t" * 20_000]


async def test_a_401_comes_back_unchanged_for_manifests_and_blobs(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, 2 * MIB)
    registry.add_manifest(REPO, "v1", DOCKER_MANIFEST, b"{}")
    registry.private.add(REPO)
    proxy = await start_proxy()

    for url in (
        proxy.mirror("/v2/"),
        proxy.mirror(f"/v2/{REPO}/manifests/v1"),
        proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}"),
    ):
        async with client.get(url, headers={"Accept": DOCKER_MANIFEST}) as response:
            assert response.status == 401, url
            assert response.headers["WWW-Authenticate"] == 'Basic realm="double"'
            assert response.headers["X-Dragonfly-Error-Type"] == "backend"
            assert (await response.json())["errors"][0]["code"] == "UNAUTHORIZED"

    # With the credentials the registry wants, the same requests work through the mirror.
    registry.accepted.add("Basic dGVhbTpzZWNyZXQ=")
    auth = {"Authorization": "Basic dGVhbTpzZWNyZXQ=", "Accept": DOCKER_MANIFEST}
    async with client.get(
        proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}"), headers=auth
    ) as response:
        assert response.status == 200
        assert await response.read() == blob.data()
    assert registry.seen("GET", "/blobs/")[-1].header("Authorization") == [auth["Authorization"]]


async def test_upstream_errors_pass_through_marked_backend(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, MIB)
    registry.fail[blob.digest] = 403
    proxy = await start_proxy()
    async with client.get(proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}")) as response:
        assert response.status == 403
        assert response.headers["X-Dragonfly-Error-Type"] == "backend"
        assert "INJECTED" in await response.text()
    missing = "sha256:" + "0" * 64
    async with client.get(proxy.mirror(f"/v2/{REPO}/blobs/{missing}")) as response:
        assert response.status == 404
        assert response.headers["X-Dragonfly-Error-Type"] == "backend"
    async with client.get(proxy.mirror(f"/v2/{REPO}/manifests/nope")) as response:
        assert response.status == 404
        assert response.headers["X-Dragonfly-Error-Type"] == "backend"
    assert await proxy.metric(
        'swarmfly_proxy_requests_total{mode="mirror",outcome="backend_error"}'
    )


async def test_the_daemons_own_failures_are_5xx_with_a_reason(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    blob = registry.add_blob(REPO, MIB)
    proxy = await start_proxy()
    unreachable = proxy.mirror(f"/v2/{REPO}/blobs/{blob.digest}", ns="127.0.0.1:9")
    async with client.get(unreachable) as response:
        assert 500 <= response.status < 600
        assert response.headers["X-Dragonfly-Error-Type"] == "proxy"
        assert "127.0.0.1:9" in (await response.json())["message"]
    bad_ns = URL(f"{proxy.url}/v2/{REPO}/manifests/v1?ns=evil.example%2Fpath", encoded=True)
    async with client.get(bad_ns) as response:
        assert response.status == 400
        assert response.headers["X-Dragonfly-Error-Type"] == "proxy"


async def test_uploads_stream_through_with_their_length(
    start_proxy: StartProxy, registry: RegistryDouble, client: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy()
    data = bytes(range(256)) * 40_000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    async with client.post(proxy.mirror(f"/v2/{REPO}/blobs/uploads/", ns=None)) as response:
        assert response.status == 202
        location = response.headers["Location"]

    async def body() -> object:
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    target = URL(f"{proxy.url}{location}?digest={digest.replace(':', '%3A')}", encoded=True)
    headers = {"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"}
    async with client.put(target, data=body(), headers=headers) as response:
        assert response.status == 201, await response.text()
        assert response.headers["Docker-Content-Digest"] == digest
    put = registry.seen("PUT", "/blobs/uploads/")[0]
    assert put.header("Content-Length") == [str(len(data))]
    assert put.header("Transfer-Encoding") == []
