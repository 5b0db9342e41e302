"""Which caller headers reach the source, and the validators that make a resume safe."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from swarmfly.source.headers import forwardable_headers, request_headers, resume_validator
from swarmfly.source.ranges import ByteRange


def test_hop_by_hop_and_owned_headers_are_dropped_repeats_kept() -> None:
    headers = [
        ("Authorization", "Bearer t"),
        ("Accept", "application/vnd.oci.image.manifest.v1+json"),
        ("Accept", "application/vnd.docker.distribution.manifest.v2+json"),
        ("Connection", "keep-alive, X-Private"),
        ("X-Private", "hop"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic cHJveHk="),
        ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"),
        ("Upgrade", "h2c"),
        ("Host", "localhost:65001"),
        ("Content-Length", "0"),
        ("Range", "bytes=0-1"),
        ("If-Range", '"abc"'),
        ("User-Agent", "containerd/1.7"),
    ]
    assert forwardable_headers(headers) == [
        ("Authorization", "Bearer t"),
        ("Accept", "application/vnd.oci.image.manifest.v1+json"),
        ("Accept", "application/vnd.docker.distribution.manifest.v2+json"),
        ("User-Agent", "containerd/1.7"),
    ]


def test_request_headers_ask_for_identity_and_the_range() -> None:
    sent = request_headers([("X-A", "1")], ByteRange(10, 19), '"etag"')
    assert sent == [
        ("X-A", "1"),
        ("Accept-Encoding", "identity"),
        ("Range", "bytes=10-19"),
        ("If-Range", '"etag"'),
    ]


def test_a_callers_accept_encoding_is_kept() -> None:
    sent = request_headers([("accept-encoding", "gzip")])
    assert sent == [("accept-encoding", "gzip")]


def test_if_range_needs_a_range() -> None:
    assert request_headers([], None, '"etag"') == [("Accept-Encoding", "identity")]


def proxy(**headers: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}))


def test_resume_validator_prefers_a_strong_etag() -> None:
    lm = "Tue, 14 Nov 2023 22:13:20 GMT"
    assert resume_validator(proxy(ETag='"v1"', Last_Modified=lm)) == '"v1"'
    assert resume_validator(proxy(etag='W/"v1"', last_modified=lm)) == lm
    assert resume_validator(proxy(ETag='W/"v1"')) is None
    assert resume_validator(proxy()) is None
