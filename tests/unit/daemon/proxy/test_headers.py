"""Which headers cross the proxy: pairs in, pairs out, repeats and order kept."""

from __future__ import annotations

import pytest

from swarmfly.daemon.proxy.headers import client_headers, store_headers, upstream_headers

SKOPEO = [("Accept", f"type/{n}") for n in range(6)]


@pytest.mark.parametrize(
    ("sent", "relayed"),
    [
        (SKOPEO, SKOPEO),
        ([("Host", "mirror:4001"), ("Authorization", "Bearer t")], [("Authorization", "Bearer t")]),
        (
            [("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("keep-alive", "5"), ("A", "1")],
            [("A", "1")],
        ),
        ([("Proxy-Authorization", "x"), ("Proxy-Connection", "y"), ("TE", "z")], []),
        ([("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Trailer", "x")], []),
        ([("X-Dragonfly-Registry", "r"), ("x-dragonfly-use-p2p", "true")], []),
        (
            [("Range", "bytes=5-"), ("Content-Length", "3"), ("Cookie", "c")],
            [("Range", "bytes=5-"), ("Content-Length", "3"), ("Cookie", "c")],
        ),
    ],
)
def test_upstream_headers(sent: list[tuple[str, str]], relayed: list[tuple[str, str]]) -> None:
    assert upstream_headers(sent) == relayed


def test_the_store_path_asks_for_whole_uncompressed_objects() -> None:
    sent = [
        ("Range", "bytes=5-"),
        ("If-Range", '"e"'),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", "0"),
        ("Accept", "a"),
        ("Authorization", "Basic x"),
    ]
    assert store_headers(sent) == [("Accept", "a"), ("Authorization", "Basic x")]


def test_client_headers_keep_repeats_and_drop_framing() -> None:
    answered = [
        ("Content-Length", "10"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close, X-Internal"),
        ("X-Internal", "1"),
        ("WWW-Authenticate", 'Bearer realm="a"'),
        ("WWW-Authenticate", 'Basic realm="b"'),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Encoding", "gzip"),
    ]
    assert client_headers(answered) == [
        ("WWW-Authenticate", 'Bearer realm="a"'),
        ("WWW-Authenticate", 'Basic realm="b"'),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Encoding", "gzip"),
    ]
