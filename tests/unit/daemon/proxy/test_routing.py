"""Routing decisions: mode, upstream, rules, the store path, and the task a request names."""

from __future__ import annotations

from typing import Any

import pytest

from swarmfly import idgen
from swarmfly.config import ProxyConfig, ProxyRule, RegistryMirrorConfig
from swarmfly.daemon.proxy.routing import (
    DOCKER_HUB,
    DragonflyHeaders,
    Mode,
    apply_rule,
    is_loopback,
    match_rule,
    pop_query_param,
    registry_for_host,
    route_request,
    task_request,
)
from swarmfly.errors import InvalidInput

HEX = "a" * 64
BLOB = f"/v2/team/app/blobs/sha256:{HEX}"
MIRROR = ProxyConfig(registry_mirror=RegistryMirrorConfig(addr="https://mirror.example"))


def config(**changes: Any) -> ProxyConfig:
    return ProxyConfig.model_validate(
        {"registryMirror": {"addr": "https://mirror.example"}, **changes}
    )


@pytest.mark.parametrize(
    ("method", "target", "headers", "mode", "url", "use_store"),
    [
        # containerd: ns URL-encoded, with a port, on a loopback registry
        (
            "GET",
            f"{BLOB}?ns=127.0.0.1%3A5000",
            {},
            Mode.MIRROR,
            f"http://127.0.0.1:5000{BLOB}",
            True,
        ),
        ("GET", f"{BLOB}?ns=docker.io", {}, Mode.MIRROR, f"{DOCKER_HUB}{BLOB}", True),
        (
            "GET",
            f"{BLOB}?ns=registry.example.com",
            {},
            Mode.MIRROR,
            f"https://registry.example.com{BLOB}",
            True,
        ),
        # no ns: the configured mirror address
        ("GET", BLOB, {}, Mode.MIRROR, f"https://mirror.example{BLOB}", True),
        # the header beats ns; a header with a scheme is taken as it is
        (
            "GET",
            f"{BLOB}?ns=docker.io",
            {"X-Dragonfly-Registry": "http://10.0.0.5:5000"},
            Mode.MIRROR,
            f"http://10.0.0.5:5000{BLOB}",
            True,
        ),
        (
            "GET",
            BLOB,
            {"X-Dragonfly-Registry": "localhost:5000"},
            Mode.MIRROR,
            f"http://localhost:5000{BLOB}",
            True,
        ),
        # other query parameters stay byte for byte, ns goes wherever it is
        (
            "GET",
            f"{BLOB}?X-Amz-Signature=a%2Fb%3D&ns=docker.io&x=1+2",
            {},
            Mode.MIRROR,
            f"{DOCKER_HUB}{BLOB}?X-Amz-Signature=a%2Fb%3D&x=1+2",
            True,
        ),
        # only GET takes the store path; manifests and the /v2/ probe never do
        ("HEAD", f"{BLOB}?ns=docker.io", {}, Mode.MIRROR, f"{DOCKER_HUB}{BLOB}", False),
        (
            "GET",
            "/v2/team/app/manifests/v1?ns=docker.io",
            {},
            Mode.MIRROR,
            f"{DOCKER_HUB}/v2/team/app/manifests/v1",
            False,
        ),
        ("GET", "/v2/", {}, Mode.MIRROR, "https://mirror.example/v2/", False),
        ("PUT", f"{BLOB}", {}, Mode.MIRROR, f"https://mirror.example{BLOB}", False),
        # forward proxy: the absolute URL is the upstream
        ("GET", f"http://reg:5000{BLOB}", {}, Mode.FORWARD, f"http://reg:5000{BLOB}", True),
        ("GET", "http://files/a.tar?sig=1", {}, Mode.FORWARD, "http://files/a.tar?sig=1", False),
        (
            "GET",
            "http://files/a.tar",
            {"X-Dragonfly-Use-P2P": "TRUE"},
            Mode.FORWARD,
            "http://files/a.tar",
            True,
        ),
        (
            "POST",
            "http://files/a.tar",
            {"X-Dragonfly-Use-P2P": "true"},
            Mode.FORWARD,
            "http://files/a.tar",
            False,
        ),
        # blob-shaped but no digest: relayed, the registry says what is wrong
        (
            "GET",
            "/v2/app/blobs/sha256:short?ns=docker.io",
            {},
            Mode.MIRROR,
            f"{DOCKER_HUB}/v2/app/blobs/sha256:short",
            False,
        ),
    ],
)
def test_route_request(
    method: str, target: str, headers: dict[str, str], mode: Mode, url: str, use_store: bool
) -> None:
    route = route_request(method, target, headers, MIRROR)
    assert (route.mode, route.url, route.use_store) == (mode, url, use_store)


def test_a_blob_route_knows_its_digest() -> None:
    route = route_request("HEAD", f"{BLOB}?ns=docker.io", {}, MIRROR)
    assert str(route.blob) == f"sha256:{HEX}"
    assert route_request("GET", "/v2/", {}, MIRROR).blob is None


@pytest.mark.parametrize(
    "target",
    ["*", "example.com:443", f"{BLOB}?ns=evil.example%2Fpath", f"{BLOB}?ns=user%40host"],
)
def test_unusable_targets_are_invalid_input(target: str) -> None:
    with pytest.raises(InvalidInput):
        route_request("GET", target, {}, MIRROR)


@pytest.mark.parametrize(
    ("host", "mirror", "expected"),
    [
        ("127.0.0.1:5000", {}, "http://127.0.0.1:5000"),
        ("localhost", {}, "http://localhost"),
        ("[::1]:5000", {}, "http://[::1]:5000"),
        ("index.docker.io", {}, DOCKER_HUB),
        ("quay.io", {}, "https://quay.io"),
        (
            "reg.internal:5000",
            {"insecureRegistries": ["reg.internal:5000"]},
            "http://reg.internal:5000",
        ),
        ("REG.internal:5000", {"addr": "http://reg.internal:5000"}, "http://reg.internal:5000"),
        ("reg.internal:5001", {"addr": "http://reg.internal:5000"}, "https://reg.internal:5001"),
    ],
)
def test_registry_for_host(host: str, mirror: dict[str, Any], expected: str) -> None:
    assert registry_for_host(host, RegistryMirrorConfig.model_validate(mirror)) == expected


@pytest.mark.parametrize(
    ("query", "value", "rest"),
    [
        ("", None, ""),
        ("ns=docker.io", "docker.io", ""),
        ("ns=127.0.0.1%3A5000&a=1", "127.0.0.1:5000", "a=1"),
        ("a=%2F&ns=x&b", "x", "a=%2F&b"),
        ("ns=first&ns=second", "first", ""),
        ("nsx=1&n%73=y", "y", "nsx=1"),
    ],
)
def test_pop_query_param(query: str, value: str | None, rest: str) -> None:
    assert pop_query_param(query, "ns") == (value, rest)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.9.9.9", True),
        ("localhost:1", True),
        ("[::1]:5", True),
        ("10.0.0.1:5000", False),
        ("docker.io", False),
        ("localhost.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_first_matching_rule_wins_and_the_query_is_not_matched() -> None:
    first, second = ProxyRule(regex="blobs/sha256"), ProxyRule(regex=r"\.tar$")
    assert match_rule(f"http://r{BLOB}", [first, second]) is first
    assert match_rule("http://f/a.tar", [first, second]) is second
    assert match_rule("http://f/x?path=blobs/sha256", [first]) is None


@pytest.mark.parametrize(
    ("url", "rule", "expected"),
    [
        ("http://a/x?q=1", {}, "http://a/x?q=1"),
        ("http://a/x?q=1", {"useTLS": True}, "https://a/x?q=1"),
        ("https://a/x", {"useTLS": True}, "https://a/x"),
        ("http://a:1/x?q=1", {"redirect": "b:2"}, "http://b:2/x?q=1"),
        ("http://a/x", {"redirect": "https://b/"}, "https://b/x"),
    ],
)
def test_apply_rule(url: str, rule: dict[str, Any], expected: str) -> None:
    assert apply_rule(url, ProxyRule.model_validate({"regex": ".", **rule})) == expected


def test_dragonfly_headers() -> None:
    parsed = DragonflyHeaders.parse(
        {"X-Dragonfly-Use-P2P": "True", "X-Dragonfly-Piece-Length": "8Mi", "X-Dragonfly-Tag": "t"}
    )
    assert parsed.use_p2p and parsed.piece_length == 8 << 20 and parsed.tag == "t"
    assert DragonflyHeaders.parse({}) == DragonflyHeaders()
    for bad in ("1", "lots", str(1 << 30)):
        with pytest.raises(InvalidInput, match="Piece-Length"):
            DragonflyHeaders.parse({"X-Dragonfly-Piece-Length": bad})


def test_a_blob_is_its_digest_and_is_verified_either_way() -> None:
    route = route_request("GET", f"{BLOB}?ns=docker.io", {}, MIRROR)
    request = task_request(route, [], MIRROR)
    assert request.task_id == HEX
    assert str(request.digest) == f"sha256:{HEX}"
    by_url = config(registryMirror={"addr": "https://m", "enableTaskIDBasedBlobDigest": False})
    request = task_request(route, [], by_url)
    assert request.task_id == idgen.url_task_id(
        route.url, filtered_query_params=by_url.default_filter
    )
    assert str(request.digest) == f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("rules", "headers", "filtered"),
    [
        ([], {}, ("Expires", "Signature")),
        ([{"regex": "file", "filteredQueryParams": "k"}], {}, ("k",)),
        (
            [{"regex": "file", "filteredQueryParams": "k"}],
            {"X-Dragonfly-Filtered-Query-Params": "Expires, k"},
            ("Expires", "k"),
        ),
    ],
)
def test_filters_come_from_header_then_rule_then_default(
    rules: list[dict[str, str]], headers: dict[str, str], filtered: tuple[str, ...]
) -> None:
    proxy = config(defaultFilter="Expires&Signature", rules=rules)
    url = "http://files/file.bin?Expires=1&Signature=2&k=3&keep=4"
    route = route_request("GET", url, {"X-Dragonfly-Use-P2P": "true", **headers}, proxy)
    assert task_request(route, [], proxy).task_id == idgen.url_task_id(
        url, filtered_query_params=filtered
    )


def test_task_request_takes_tag_application_and_piece_length() -> None:
    proxy = config(defaultTag="d-tag", defaultApplication="d-app")
    url = "http://files/f"
    headers = {"X-Dragonfly-Use-P2P": "true", "X-Dragonfly-Piece-Length": str(16 << 20)}
    route = route_request("GET", url, headers, proxy)
    request = task_request(route, [], proxy)
    assert request.task_id == idgen.url_task_id(
        url,
        tag="d-tag",
        application="d-app",
        piece_length=16 << 20,
        filtered_query_params=proxy.default_filter,
    )
    route = route_request("GET", url, {**headers, "X-Dragonfly-Tag": "h-tag"}, proxy)
    assert task_request(route, [], proxy).tag == "h-tag"


def test_the_store_path_sends_the_source_only_what_it_should() -> None:
    route = route_request("GET", f"{BLOB}?ns=docker.io", {}, MIRROR)
    sent = [
        ("Host", "127.0.0.1:4001"),
        ("Authorization", "Bearer t"),
        ("Accept", "a"),
        ("Accept", "b"),
        ("Range", "bytes=5-"),
        ("Accept-Encoding", "gzip"),
        ("X-Dragonfly-Registry", "x"),
        ("Connection", "close"),
    ]
    assert task_request(route, sent, MIRROR).headers == (
        ("Authorization", "Bearer t"),
        ("Accept", "a"),
        ("Accept", "b"),
    )
