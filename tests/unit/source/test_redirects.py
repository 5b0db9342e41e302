"""URL parsing that keeps signatures intact, and where credentials may follow a redirect."""

from __future__ import annotations

import pytest
from yarl import URL

from swarmfly.source.errors import SourceURLError
from swarmfly.source.redirects import (
    headers_for_hop,
    parse_source_url,
    redirect_target,
    same_origin,
)

SIGNED = "X-Amz-Signature=a%2Fb%3D%2B&Expires=1700000000&X-Amz-Credential=AK%2F2023%2Fs3"


def test_an_encoded_url_is_sent_exactly() -> None:
    url = parse_source_url(f"https://s3.local:9000/bucket/p%7Eq/obj?{SIGNED}")
    assert url.raw_path_qs == f"/bucket/p%7Eq/obj?{SIGNED}"


def test_a_url_not_fit_for_the_wire_is_quoted() -> None:
    assert parse_source_url("http://h/a b?x=é").raw_path_qs == "/a%20b?x=%C3%A9"


@pytest.mark.parametrize("text", ["ftp://h/x", "h/x", "/relative", "http://", "file:///etc"])
def test_unfetchable_urls_are_refused(text: str) -> None:
    with pytest.raises(SourceURLError):
        parse_source_url(text)


BASE = URL(
    "https://registry.local:5000/v2/library/alpine/blobs/sha256:ab?ns=docker.io", encoded=True
)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (f"https://s3.local/bucket/obj?{SIGNED}", f"https://s3.local/bucket/obj?{SIGNED}"),
        (f"/bucket/obj?{SIGNED}", f"https://registry.local:5000/bucket/obj?{SIGNED}"),
        ("//cdn.local/obj?sig=%2F", "https://cdn.local/obj?sig=%2F"),
        ("other?x=1", "https://registry.local:5000/v2/library/alpine/blobs/other?x=1"),
    ],
)
def test_redirect_target_keeps_the_query_exactly(location: str, expected: str) -> None:
    target = redirect_target(BASE, location)
    assert target is not None
    assert str(target) == expected


@pytest.mark.parametrize("location", [None, "", "ftp://h/x", "javascript:alert(1)", "http://"])
def test_unusable_locations(location: str | None) -> None:
    assert redirect_target(BASE, location) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("http://h/x", "http://h:80/y", True),
        ("http://H/x", "http://h/y", True),
        ("https://h/x", "https://h:443/y?q", True),
        ("https://h/x", "http://h/x", False),
        ("http://h:5000/x", "http://h:5001/x", False),
        ("http://h/x", "http://sub.h/x", False),
    ],
)
def test_same_origin(a: str, b: str, expected: bool) -> None:
    assert same_origin(URL(a), URL(b)) is expected


def test_credentials_stay_with_the_callers_origin() -> None:
    headers = [("Authorization", "Bearer t"), ("Cookie", "c=1"), ("Accept", "*/*")]
    other = URL("https://s3.local/bucket/obj")
    assert headers_for_hop(headers, BASE, BASE) == headers
    assert headers_for_hop(headers, BASE, other) == [("Accept", "*/*")]
    # back on the caller's origin (a redirect chain A -> B -> A) they are sent again
    assert headers_for_hop(headers, BASE, BASE.with_path("/v2/")) == headers
